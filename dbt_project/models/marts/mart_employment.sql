{{ config(materialized='month_partitioned', partition_by='month_start') }}

with

workers as (

    select * from {{ ref('fct_employment') }}
    {{ month_filter() }}

),

control_totals as (

    select * from {{ ref('stg_employment__control_totals') }}
    {{ month_filter() }}

),

counties as (

    select * from {{ ref('dim_county') }}

),

months as (

    select month_start from workers
    union
    select month_start from control_totals

),

-- The year's target is a plan figure that only the 汇总 sheet carries: the county rows as
-- declared, the city as their sum.
targets as (

    select
        control_totals.month_start,
        coalesce(control_totals.county_code, '{{ var("city_code", "411400") }}') as county_code,
        sum(control_totals.target_persons) as target_persons
    from control_totals
    inner join counties
        on control_totals.county_code = counties.county_code
    where not counties.is_city
    group by grouping sets (
        (control_totals.month_start, control_totals.county_code),
        (control_totals.month_start)
    )

),

-- Distinct persons on the month-end roster; the city counts persons across counties.
employed as (

    select
        month_start,
        coalesce(county_code, '{{ var("city_code", "411400") }}') as county_code,
        count(distinct person_key) as employed_persons,
        count(distinct person_key) filter (where employment_type = '省外务工') as outside_province_persons,
        count(distinct person_key) filter (where employment_type = '省内县外务工') as in_province_persons,
        count(distinct person_key) filter (where employment_type = '县内务工') as in_county_persons,
        count(distinct person_key) filter (where employment_type = '扶贫车间') as workshop_persons,
        count(distinct person_key) filter (where employment_type = '自主创业') as self_employed_persons,
        count(distinct person_key) filter (where employment_type = '公益岗位') as public_welfare_posts
    from workers
    group by grouping sets ((month_start, county_code), (month_start))

),

final as (

    select
        months.month_start,
        counties.county_code,
        counties.county_name,
        counties.is_city,
        counties.sort_order,
        targets.target_persons,
        coalesce(employed.employed_persons, 0) as employed_persons,
        coalesce(employed.outside_province_persons, 0) as outside_province_persons,
        coalesce(employed.in_province_persons, 0) as in_province_persons,
        coalesce(employed.in_county_persons, 0) as in_county_persons,
        coalesce(employed.workshop_persons, 0) as workshop_persons,
        coalesce(employed.self_employed_persons, 0) as self_employed_persons,
        coalesce(employed.public_welfare_posts, 0) as public_welfare_posts,
        round(100.0 * coalesce(employed.employed_persons, 0) / nullif(targets.target_persons, 0), 2) as done_rate_pct
    from months
    cross join counties
    left join targets
        on
            months.month_start = targets.month_start
            and counties.county_code = targets.county_code
    left join employed
        on
            months.month_start = employed.month_start
            and counties.county_code = employed.county_code

)

select * from final
