with

{{ import_ctes(whole={'asset_categories': 'ref_asset_categories'}) }}

final as (

    select
        asset_category_code,
        asset_kind,
        category_zh,
        category_en,
        sort_order

    from asset_categories

)

select * from final
