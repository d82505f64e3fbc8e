with

source as (

    select * from {{ source('education_aid', 'education_aid_payments_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as payment_id,
        _feed_month as month_start,
        county_code,
        school,
        program,
        item,
        stage as school_stage,
        student_id_key as student_key,
        student_id_birth_year::integer as student_birth_year,
        student_id_sex as student_sex,
        guardian_id_key as guardian_key,
        {{ to_base_unit('amount', 'amount__unit') }} as amount_yuan,
        paid_on::date as paid_on,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
