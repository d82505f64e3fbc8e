{{ config(materialized='month_partitioned', partition_by='month_start') }}

with

{{ import_ctes(monthly={'settlements': 'stg_pv_stations__settlements'}) }}

final as (

    select
        settlement_id,
        month_start,
        county_code,
        'pv_station' as asset_category_code,
        station_no,
        station_name,
        township,
        village,
        capacity_kw,
        operating_status,
        grid_kwh as generation_kwh,
        fee_yuan as revenue_yuan,
        load_id,
        source_sheet,
        source_row

    from settlements

)

select * from final
