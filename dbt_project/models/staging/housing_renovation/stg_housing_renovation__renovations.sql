with

source as (

    select * from {{ source('housing_renovation', 'housing_renovations_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as renovation_month_id,
        _feed_month as month_start,
        county_code,
        head_id_key as household_key,
        head_id_birth_year::integer as head_birth_year,
        head_id_sex as head_sex,
        head_id_region as head_region,
        township,
        village,
        household_type,
        household_size::integer as household_size,
        danger_grade,
        method,
        appraised_on::date as appraised_on,
        progress,
        {{ to_base_unit('subsidy', 'subsidy__unit') }} as subsidy_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
