with

source as (

    select * from {{ source('student_loans', 'student_loans_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as loan_record_id,
        {{ staged_columns('student_loans', 'student_loans_current') }}

    from source

)

select * from renamed
