with

source as (

    select * from {{ source('pv_stations', 'pv_station_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        stations::integer as stations,
        {{ to_base_unit('grid_kwh', 'grid_kwh__unit') }} as grid_kwh,
        {{ to_base_unit('fee', 'fee__unit') }} as fee_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
