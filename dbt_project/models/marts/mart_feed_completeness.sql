{{ config(materialized='month_partitioned', partition_by='month_start') }}

with

{{ import_ctes(
    monthly={'completeness': 'stg_ops__feed_completeness'},
    whole={'feeds': 'stg_ops__feeds', 'departments': 'dim_department', 'counties': 'dim_county'}
) }}

county_rows as (

    select
        month_start,
        feed,
        county_code,
        status,
        detail_rows,
        delivered_at,
        deadline_at,
        versions_loaded,
        versions_quarantined,
        (status = 'missing')::integer as counties_missing
    from completeness

),

-- The city row describes the month's file (one per feed, covering every county): missing when no
-- county has rows, otherwise the file's own status, which every county it covers shares.
city_rows as (

    select
        month_start,
        feed,
        {{ city_code() }} as county_code,
        coalesce(min(status) filter (where status != 'missing'), 'missing') as status,
        sum(detail_rows) as detail_rows,
        min(delivered_at) as delivered_at,
        min(deadline_at) as deadline_at,
        max(versions_loaded) as versions_loaded,
        max(versions_quarantined) as versions_quarantined,
        sum(counties_missing) as counties_missing
    from county_rows
    group by month_start, feed

),

all_rows as (

    select * from county_rows
    union all
    select * from city_rows

),

final as (

    select
        all_rows.month_start,
        all_rows.county_code,
        {{ county_columns() }},
        feeds.department,
        departments.department_zh,
        all_rows.feed,
        feeds.feed_name_zh,
        all_rows.status,
        all_rows.detail_rows,
        all_rows.delivered_at,
        all_rows.deadline_at,
        all_rows.versions_loaded,
        all_rows.versions_quarantined,
        all_rows.counties_missing
    from all_rows
    inner join feeds
        on all_rows.feed = feeds.feed
    inner join departments
        on feeds.department = departments.department
    inner join counties
        on all_rows.county_code = counties.county_code

)

select * from final
