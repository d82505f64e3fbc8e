{{ config(materialized='month_partitioned', partition_by='month_start') }}

{%- set all_categories = '三类户合计' %}

with

{{ import_ctes(monthly={'households': 'fct_monitored_households'}, whole={'counties': 'dim_county'}) }}

categories as (

    select unnest(array['脱贫不稳定户', '边缘易致贫户', '突发严重困难户', '{{ all_categories }}']) as category

),

months as (

    {{ months_of(['households']) }}

),

-- The county and city rows, each by category and for all categories, straight from the detail:
-- the city counts distinct households across counties.
counted as (

    select
        month_start,
        {{ county_or_city() }} as county_code,
        coalesce(category, '{{ all_categories }}') as category,
        count(distinct household_key) as households,
        sum(persons) as persons,
        count(distinct household_key) filter (where is_risk_cleared) as cleared_households,
        sum(persons) filter (where is_risk_cleared) as cleared_persons,
        count(distinct household_key) filter (where is_identified_in_year) as added_in_year_households,
        sum(persons) filter (where is_identified_in_year) as added_in_year_persons
    from households
    group by grouping sets (
        (month_start, county_code, category),
        (month_start, county_code),
        (month_start, category),
        (month_start)
    )

),

-- Every county (and the city) × every category, so that a category with no household shows zeros.
grid as (

    select
        months.month_start,
        counties.county_code,
        counties.county_name,
        counties.is_city,
        counties.sort_order,
        categories.category
    from months
    cross join counties
    cross join categories

),

final as (

    select
        grid.month_start,
        grid.county_code,
        {{ county_columns('grid') }},
        grid.category,
        grid.category = '{{ all_categories }}' as is_all_categories,
        {{ zero_if_missing('counted', ['households', 'persons', 'cleared_households', 'cleared_persons']) }},
        round(100.0 * counted.cleared_households / nullif(counted.households, 0), 2) as cleared_household_share_pct,
        round(100.0 * counted.cleared_persons / nullif(counted.persons, 0), 2) as cleared_person_share_pct,
        {{ zero_if_missing('counted', ['added_in_year_households', 'added_in_year_persons']) }}
    from grid
    left join counted
        on
            grid.month_start = counted.month_start
            and grid.county_code = counted.county_code
            and grid.category = counted.category

)

select * from final
