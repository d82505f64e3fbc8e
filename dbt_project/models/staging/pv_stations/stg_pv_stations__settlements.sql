with

source as (

    select * from {{ source('pv_stations', 'pv_station_settlements_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as settlement_id,
        {{ staged_columns('pv_stations', 'pv_station_settlements_current') }}

    from source

)

select * from renamed
