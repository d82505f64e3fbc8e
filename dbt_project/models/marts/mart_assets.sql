{{ config(materialized='month_partitioned', partition_by='month_start') }}

with

{{ import_ctes(
    monthly={'assets': 'fct_assets'},
    whole={'counties': 'dim_county', 'asset_categories': 'dim_asset_category'}
) }}

-- The year to date of the run's month: generation and revenue are flows, and the year's total is a
-- figure (上网电量, 电费 January–December). Reads at most the year's partitions, never other years.
pv_year as (

    select * from {{ ref('fct_pv_settlements') }}
    {% if var('month') %}
        where month_start between date_trunc('year', {{ run_month() }})::date and {{ run_month() }}
    {% endif %}

),

pv_months as (

    select distinct month_start from pv_year
    {{ month_filter() }}

),

register as (

    select
        month_start,
        {{ county_or_city() }} as county_code,
        asset_category_code,
        count(*) as assets,
        sum(value_yuan) as asset_value_yuan,
        count(*) filter (where is_registered) as registered_assets,
        coalesce(sum(value_yuan) filter (where is_registered), 0) as registered_value_yuan,
        coalesce(sum(value_yuan) filter (where is_registered and formed_year between 2013 and 2020), 0)
            as registered_value_2013_2020_yuan,
        null::bigint as stations,
        null::numeric as capacity_kw,
        null::numeric as generation_kwh,
        null::numeric as revenue_yuan,
        null::numeric as generation_ytd_kwh,
        null::numeric as revenue_ytd_yuan,
        null::bigint as ytd_months
    from assets
    group by {{ county_and_city(['month_start', 'asset_category_code']) }}

),

pv as (

    select
        pv_months.month_start,
        {{ county_or_city('pv_year.county_code') }} as county_code,
        'pv_station' as asset_category_code,
        null::bigint as assets,
        null::numeric as asset_value_yuan,
        null::bigint as registered_assets,
        null::numeric as registered_value_yuan,
        null::numeric as registered_value_2013_2020_yuan,
        count(distinct pv_year.station_no) filter (where pv_year.month_start = pv_months.month_start) as stations,
        coalesce(sum(pv_year.capacity_kw) filter (where pv_year.month_start = pv_months.month_start), 0)
            as capacity_kw,
        coalesce(sum(pv_year.generation_kwh) filter (where pv_year.month_start = pv_months.month_start), 0)
            as generation_kwh,
        coalesce(sum(pv_year.revenue_yuan) filter (where pv_year.month_start = pv_months.month_start), 0)
            as revenue_yuan,
        sum(pv_year.generation_kwh) as generation_ytd_kwh,
        sum(pv_year.revenue_yuan) as revenue_ytd_yuan,
        count(distinct pv_year.month_start) as ytd_months
    from pv_months
    inner join pv_year
        on pv_year.month_start between date_trunc('year', pv_months.month_start)::date and pv_months.month_start
    group by {{ county_and_city(['pv_months.month_start'], 'pv_year.county_code') }}

),

unioned as (

    select * from register
    union all
    select * from pv

),

final as (

    select
        unioned.month_start,
        unioned.county_code,
        {{ county_columns() }},
        unioned.asset_category_code,
        asset_categories.category_zh,
        asset_categories.asset_kind,
        unioned.assets,
        unioned.asset_value_yuan,
        unioned.registered_assets,
        unioned.registered_value_yuan,
        round(100.0 * unioned.registered_assets / nullif(unioned.assets, 0), 2) as registered_assets_pct,
        round(100.0 * unioned.registered_value_yuan / nullif(unioned.asset_value_yuan, 0), 2) as registered_value_pct,
        unioned.registered_value_2013_2020_yuan,
        unioned.stations,
        unioned.capacity_kw,
        unioned.generation_kwh,
        unioned.revenue_yuan,
        -- a year-to-date figure is null until every month of the year so far is loaded
        case when unioned.ytd_months = extract(month from unioned.month_start) then unioned.generation_ytd_kwh end
            as generation_ytd_kwh,
        case when unioned.ytd_months = extract(month from unioned.month_start) then unioned.revenue_ytd_yuan end
            as revenue_ytd_yuan,
        unioned.ytd_months

    from unioned
    inner join counties
        on unioned.county_code = counties.county_code
    inner join asset_categories
        on unioned.asset_category_code = asset_categories.asset_category_code

)

select * from final
