with

{{ import_ctes(whole={'counties': 'ref_counties'}) }}

final as (

    select
        county_code,
        county_name,
        kind as county_kind,
        coalesce(parent_code, county_code) as parent_code,
        county_code = {{ city_code() }} as is_city,
        sort_order

    from counties

)

select * from final
