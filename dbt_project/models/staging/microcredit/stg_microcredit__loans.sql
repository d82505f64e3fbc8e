with

source as (

    select * from {{ source('microcredit', 'microcredit_loans_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as loan_month_id,
        coalesce({{ to_base_unit('repaid_in_month', 'repaid_in_month__unit') }}, 0) as repaid_yuan,
        {{ staged_columns('microcredit', 'microcredit_loans_current') }}

    from source

)

select * from renamed
