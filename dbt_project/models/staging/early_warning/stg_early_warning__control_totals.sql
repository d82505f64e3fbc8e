with

source as (

    select * from {{ source('early_warning', 'early_warning_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        flagged::integer as flagged_persons,
        medical_flags::integer as medical_flags,
        disability_flags::integer as disability_flags,
        civil_flags::integer as civil_flags,
        enrolled::integer as enrolled_persons,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
