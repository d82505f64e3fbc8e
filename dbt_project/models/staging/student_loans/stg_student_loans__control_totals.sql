with

source as (

    select * from {{ source('student_loans', 'student_loan_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        loan_students::integer as loan_students,
        {{ to_base_unit('loan_amount', 'loan_amount__unit') }} as loan_amount_yuan,
        relief_students::integer as relief_students,
        {{ to_base_unit('relief_amount', 'relief_amount__unit') }} as relief_amount_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
