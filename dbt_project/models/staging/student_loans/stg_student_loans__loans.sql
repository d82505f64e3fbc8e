with

source as (

    select * from {{ source('student_loans', 'student_loans_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as loan_record_id,
        _feed_month as month_start,
        county_code,
        student_id_key as student_key,
        student_id_birth_year::integer as student_birth_year,
        student_id_sex as student_sex,
        co_borrower_id_key as co_borrower_key,
        university,
        degree,
        contract_no,
        business_type,
        business_date::date as business_date,
        loan_year::numeric::integer as loan_year,
        {{ to_base_unit('loan_amount', 'loan_amount__unit') }} as loan_amount_yuan,
        {{ to_base_unit('relief_amount', 'relief_amount__unit') }} as relief_amount_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
