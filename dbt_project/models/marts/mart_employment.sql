{{ config(materialized='month_partitioned', partition_by='month_start') }}

with

{{ import_ctes(
    monthly={'workers': 'fct_employment', 'control_totals': 'stg_employment__control_totals'},
    whole={'counties': 'dim_county'}
) }}

months as (

    {{ months_of(['workers', 'control_totals']) }}

),

-- The year's target is a plan figure that only the 汇总 sheet carries: the county rows as
-- declared, the city as their sum.
targets as (

    select
        control_totals.month_start,
        {{ county_or_city('control_totals.county_code') }} as county_code,
        sum(control_totals.target_persons) as target_persons
    from control_totals
    inner join counties
        on control_totals.county_code = counties.county_code
    where not counties.is_city
    group by {{ county_and_city(['control_totals.month_start'], 'control_totals.county_code') }}

),

-- Distinct persons on the month-end roster; the city counts persons across counties.
employed as (

    select
        month_start,
        {{ county_or_city() }} as county_code,
        count(distinct person_key) as employed_persons,
        count(distinct person_key) filter (where employment_type = '省外务工') as outside_province_persons,
        count(distinct person_key) filter (where employment_type = '省内县外务工') as in_province_persons,
        count(distinct person_key) filter (where employment_type = '县内务工') as in_county_persons,
        count(distinct person_key) filter (where employment_type = '扶贫车间') as workshop_persons,
        count(distinct person_key) filter (where employment_type = '自主创业') as self_employed_persons,
        count(distinct person_key) filter (where employment_type = '公益岗位') as public_welfare_posts
    from workers
    group by {{ county_and_city(['month_start']) }}

),

final as (

    select
        months.month_start,
        counties.county_code,
        {{ county_columns() }},
        targets.target_persons,
        {{ zero_if_missing('employed', [
            'employed_persons', 'outside_province_persons', 'in_province_persons', 'in_county_persons',
            'workshop_persons', 'self_employed_persons', 'public_welfare_posts',
        ]) }},
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
