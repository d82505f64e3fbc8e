with

source as (

    select * from {{ source('employment', 'employment_workers_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as employment_id,
        _feed_month as month_start,
        county_code,
        township,
        village,
        person_id_key as person_key,
        person_id_birth_year::integer as person_birth_year,
        person_id_sex as person_sex,
        person_id_region as person_region,
        person_type,
        employment_type,
        workplace,
        {{ to_base_unit('monthly_income', 'monthly_income__unit') }} as monthly_income_yuan,
        employed_since::date as employed_since,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
