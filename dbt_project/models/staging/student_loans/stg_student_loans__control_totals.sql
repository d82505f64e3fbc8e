with

source as (

    select * from {{ source('student_loans', 'student_loan_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        {{ staged_columns('student_loans', 'student_loan_control_totals_current') }}

    from source

)

select * from renamed
