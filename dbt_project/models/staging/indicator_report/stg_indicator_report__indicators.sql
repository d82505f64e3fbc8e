with

source as (

    select * from {{ source('indicator_report', 'indicator_reports_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as indicator_report_id,
        _feed_month as month_start,
        county_code,
        department,
        indicator_code,
        indicator_name,
        as_of,
        value::numeric as declared_value,
        unit as declared_unit,
        {{ indicator_to_base_unit('value', 'unit') }} as base_value,
        {{ indicator_base_unit('unit') }} as base_unit,
        -- half a unit of the last printed digit, in the base unit: the rounding a printed figure allows
        trim_scale(
            {{ indicator_to_base_unit('(0.5 * power(10::numeric, -scale(value::numeric)))', 'unit') }}
        ) as base_tolerance,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
