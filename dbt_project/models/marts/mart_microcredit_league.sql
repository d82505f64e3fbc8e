{{ config(materialized='month_partitioned', partition_by='month_start') }}

with

{{ import_ctes(
    monthly={'control_totals': 'stg_microcredit__control_totals'},
    whole={'counties': 'dim_county'}
) }}

loans as (

    select * from {{ ref('fct_loans') }}
    where
        loan_program = 'microcredit'
    {{ month_filter(keyword='and') }}

),

eligible as (

    select
        control_totals.month_start,
        control_totals.county_code,
        control_totals.lifted_households,
        control_totals.monitored_households
    from control_totals
    inner join counties
        on control_totals.county_code = counties.county_code
    where not counties.is_city

),

eligible_with_city as (

    select * from eligible
    union all
    select
        month_start,
        {{ city_code() }} as county_code,
        sum(lifted_households) as lifted_households,
        sum(monitored_households) as monitored_households
    from eligible
    group by month_start

),

borrowers as (

    select
        month_start,
        county_code,
        household_key,
        bool_or(has_balance) as has_balance,
        bool_or(is_new_in_year) as is_new_in_year,
        coalesce(sum(loan_amount_yuan) filter (where is_new_in_year), 0) as new_loan_amount_yuan
    from loans
    group by month_start, county_code, household_key

),

-- Households per county, and across counties for the city: a household borrowing in two counties
-- counts once in the city.
counts as (

    select
        month_start,
        {{ county_or_city() }} as county_code,
        count(distinct household_key) filter (where has_balance) as balance_households,
        count(distinct household_key) filter (where is_new_in_year) as new_households,
        sum(new_loan_amount_yuan) as new_loan_amount_yuan
    from borrowers
    group by {{ county_and_city(['month_start']) }}

),

rated as (

    select
        eligible_with_city.month_start,
        eligible_with_city.county_code,
        eligible_with_city.lifted_households,
        eligible_with_city.monitored_households,
        eligible_with_city.lifted_households
        + eligible_with_city.monitored_households as eligible_households,
        coalesce(counts.balance_households, 0) as balance_households,
        coalesce(counts.new_households, 0) as new_households,
        coalesce(counts.new_loan_amount_yuan, 0) as new_loan_amount_yuan
    from eligible_with_city
    left join counts
        on
            eligible_with_city.month_start = counts.month_start
            and eligible_with_city.county_code = counts.county_code

),

final as (

    select
        rated.month_start,
        rated.county_code,
        {{ county_columns() }},
        rated.lifted_households,
        rated.monitored_households,
        rated.eligible_households,
        rated.balance_households,
        rated.new_households,
        rated.new_loan_amount_yuan,
        round(100.0 * rated.new_households / nullif(rated.eligible_households, 0), 2) as new_household_rate_pct,
        round(100.0 * rated.balance_households / nullif(rated.eligible_households, 0), 2)
            as balance_household_rate_pct,
        case
            when not counties.is_city
                then rank() over (
                    partition by rated.month_start, counties.is_city
                    order by rated.balance_households::numeric / nullif(rated.eligible_households, 0) desc
                )
        end as balance_rate_rank
    from rated
    inner join counties
        on rated.county_code = counties.county_code

)

select * from final
