with

source as (

    select * from {{ source('microcredit', 'microcredit_loans_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as loan_month_id,
        _feed_month as month_start,
        county_code,
        borrower_id_key as borrower_key,
        borrower_id_birth_year::integer as borrower_birth_year,
        borrower_id_sex as borrower_sex,
        borrower_id_region as borrower_region,
        household_type,
        account_no,
        bank,
        issue_date::date as issue_date,
        maturity_date::date as maturity_date,
        {{ to_base_unit('loan_amount', 'loan_amount__unit') }} as loan_amount_yuan,
        {{ to_base_unit('balance', 'balance__unit') }} as balance_yuan,
        coalesce({{ to_base_unit('repaid_in_month', 'repaid_in_month__unit') }}, 0) as repaid_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
