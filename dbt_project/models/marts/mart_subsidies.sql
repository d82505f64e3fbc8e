{{ config(materialized='month_partitioned', partition_by='month_start') }}

{#- Year-to-date sums add the month to the previous month's partition of this mart; year-to-date
    persons count the year's first payments (one row per person, program and county). -#}
{%- set carry = builds_on_earlier_months() %}

with

{{ import_ctes(monthly={'payments': 'fct_subsidies'}, whole={'counties': 'dim_county'}) }}

first_payments as (

    select * from {{ ref('int_subsidy_recipients_first_paid') }}
    {% if var('month') %}
        where month_start between date_trunc('year', {{ run_month() }}) and {{ run_month() }}
    {% endif %}

),

programs as (

    select * from {{ ref('dim_program') }}
    where fact = 'fct_subsidies'

),

{% if carry %}
    previous as (

        select * from {{ this }}
        where month_start = {{ previous_month() }}

    ),
{% endif %}

months as (

    {{ months_of(['payments']) }}

),

grid as (

    select
        months.month_start,
        counties.county_code,
        programs.program_code
    from months
    cross join counties
    cross join programs

),

month_totals as (

    select
        month_start,
        program_code,
        {{ county_or_city() }} as county_code,
        count(distinct person_key) as recipients,
        count(*) as person_times,
        sum(amount_yuan) as amount_yuan
    from payments
    group by {{ county_and_city(['month_start', 'program_code']) }}

),

recipients_to_date as (

    select
        months.month_start,
        first_payments.program_code,
        {{ county_or_city('first_payments.county_code') }} as county_code,
        count(distinct first_payments.person_key) as recipients_ytd
    from months
    inner join first_payments
        on
            months.month_start >= first_payments.month_start
            and date_trunc('year', months.month_start) = date_trunc('year', first_payments.month_start)
    group by {{ county_and_city(['months.month_start', 'first_payments.program_code'], 'first_payments.county_code') }}

),

monthly as (

    select
        grid.month_start,
        grid.county_code,
        grid.program_code,
        {{ zero_if_missing('month_totals', ['recipients', 'person_times', 'amount_yuan']) }}
    from grid
    left join month_totals
        on
            grid.month_start = month_totals.month_start
            and grid.county_code = month_totals.county_code
            and grid.program_code = month_totals.program_code

),

accumulated as (

    select
        month_start,
        county_code,
        program_code,
        sum(person_times) over by_year as person_times_ytd,
        sum(amount_yuan) over by_year as amount_yuan_ytd,
        sum(months) over by_year as months_in_ytd
    from (
        select
            month_start,
            county_code,
            program_code,
            person_times,
            amount_yuan,
            1 as months
        from monthly
        {% if carry %}
            union all
            select
                month_start,
                county_code,
                program_code,
                person_times_ytd,
                amount_yuan_ytd,
                months_in_ytd
            from previous
        {% endif %}
    ) as month_or_carried
    window by_year as (
        partition by county_code, program_code, date_trunc('year', month_start)
        order by month_start
    )

),

final as (

    select
        monthly.month_start,
        monthly.county_code,
        {{ county_columns() }},
        monthly.program_code,
        programs.name_zh as program_name_zh,
        programs.department,
        monthly.recipients,
        monthly.person_times,
        monthly.amount_yuan,
        accumulated.months_in_ytd,
        case
            when accumulated.months_in_ytd = extract(month from monthly.month_start)
                then accumulated.person_times_ytd
        end as person_times_ytd,
        case
            when accumulated.months_in_ytd = extract(month from monthly.month_start)
                then accumulated.amount_yuan_ytd
        end as amount_yuan_ytd,
        case
            when
                accumulated.months_in_ytd = extract(month from monthly.month_start)
                and programs.persons_basis = 'year'
                then coalesce(recipients_to_date.recipients_ytd, 0)
        end as recipients_ytd

    from monthly
    inner join counties
        on monthly.county_code = counties.county_code
    inner join programs
        on monthly.program_code = programs.program_code
    inner join accumulated
        on
            monthly.month_start = accumulated.month_start
            and monthly.county_code = accumulated.county_code
            and monthly.program_code = accumulated.program_code
    left join recipients_to_date
        on
            monthly.month_start = recipients_to_date.month_start
            and monthly.county_code = recipients_to_date.county_code
            and monthly.program_code = recipients_to_date.program_code

)

select * from final
