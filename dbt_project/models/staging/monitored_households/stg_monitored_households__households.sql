with

source as (

    select * from {{ source('monitored_households', 'monitored_households_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as monitored_household_id,
        _feed_month as month_start,
        county_code,
        township,
        village,
        household_no,
        head_id_key as household_key,
        head_id_birth_year::integer as head_birth_year,
        head_id_sex as head_sex,
        head_id_region as head_region,
        category,
        persons::integer as persons,
        identified_on::date as identified_on,
        risk_type,
        risk_cleared = '是' as is_risk_cleared,
        {{ to_base_unit('income_per_capita', 'income_per_capita__unit') }} as income_per_capita_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
