with

source as (

    select * from {{ source('early_warning', 'early_warnings_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as warning_id,
        _feed_month as month_start,
        county_code,
        township,
        village,
        source as warning_source,
        warning_type,
        person_id_key as person_key,
        person_id_birth_year::integer as person_birth_year,
        person_id_sex as person_sex,
        person_id_region as person_region,
        flagged_on::date as flagged_on,
        {{ to_base_unit('medical_total', 'medical_total__unit') }} as medical_total_yuan,
        {{ to_base_unit('out_of_pocket', 'out_of_pocket__unit') }} as out_of_pocket_yuan,
        check_status,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
