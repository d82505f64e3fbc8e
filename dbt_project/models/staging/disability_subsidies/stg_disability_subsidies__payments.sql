with

source as (

    select * from {{ source('disability_subsidies', 'disability_subsidy_payments_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as payment_id,
        _feed_month as month_start,
        county_code,
        township,
        village,
        subsidy_type,
        person_id_key as person_key,
        person_id_birth_year::integer as person_birth_year,
        person_id_sex as person_sex,
        disability_type,
        disability_grade,
        {{ to_base_unit('amount', 'amount__unit') }} as amount_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
