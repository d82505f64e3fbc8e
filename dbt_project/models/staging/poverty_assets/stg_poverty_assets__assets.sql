with

source as (

    select * from {{ source('poverty_assets', 'poverty_assets_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as asset_month_id,
        _feed_month as month_start,
        county_code,
        asset_no,
        asset_name,
        township,
        village,
        category,
        subcategory,
        formed_year::integer as formed_year,
        {{ to_base_unit('value', 'value__unit') }} as value_yuan,
        registration,
        custodian,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
