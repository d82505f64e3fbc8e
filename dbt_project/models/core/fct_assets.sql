{{ config(materialized='month_partitioned', partition_by='month_start') }}

with

{{ import_ctes(
    monthly={'assets': 'stg_poverty_assets__assets'},
    whole={'asset_categories': 'dim_asset_category'}
) }}

final as (

    select
        assets.asset_month_id,
        assets.month_start,
        assets.county_code,
        asset_categories.asset_category_code,
        assets.asset_no,
        assets.asset_name,
        assets.subcategory,
        assets.township,
        assets.village,
        assets.formed_year,
        assets.value_yuan,
        case assets.registration
            when '已确权登记' then true
            when '未确权登记' then false
        end as is_registered,
        assets.custodian,
        assets.load_id,
        assets.source_sheet,
        assets.source_row

    from assets
    left join asset_categories
        on
            assets.category = asset_categories.category_zh
            and asset_categories.asset_kind = 'register'

)

select * from final
