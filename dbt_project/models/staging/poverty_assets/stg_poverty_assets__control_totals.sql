with

source as (

    select * from {{ source('poverty_assets', 'poverty_asset_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        assets::integer as assets,
        {{ to_base_unit('asset_value', 'asset_value__unit') }} as asset_value_yuan,
        registered_assets::integer as registered_assets,
        {{ to_base_unit('registered_value', 'registered_value__unit') }} as registered_value_yuan,
        registered_rate::numeric as registered_rate_pct,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
