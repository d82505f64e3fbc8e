{{ config(materialized='month_partitioned', partition_by='month_start') }}

{#- Each month's student-loan file holds the whole year up to the month's end, so every value here is
    cumulative from 1 January to `as_of_date` (each day of the report month), computed from that file
    alone: no earlier month is read. -#}

with

{{ import_ctes(whole={'counties': 'dim_county'}) }}

loans as (

    select * from {{ ref('fct_loans') }}
    where
        loan_program = 'student_loan'
    {{ month_filter(keyword='and') }}

),

days as (

    select
        months.month_start,
        calendar_day::date as as_of_date
    from ({{ months_of(['loans']) }}) as months
    cross join lateral generate_series(
        months.month_start, months.month_start + interval '1 month' - interval '1 day', interval '1 day'
    ) as calendar_day

),

events as (

    select
        month_start,
        county_code,
        person_key,
        record_type,
        coalesce(issue_date, relief_date) as event_date,
        loan_amount_yuan,
        relief_yuan
    from loans
    where coalesce(issue_date, relief_date) >= date_trunc('year', month_start)

),

to_date as (

    select
        days.month_start,
        days.as_of_date,
        {{ county_or_city('events.county_code') }} as county_code,
        count(distinct events.person_key) filter (where events.record_type = 'new_loan') as new_loan_students,
        count(*) filter (where events.record_type = 'new_loan') as new_loans,
        sum(events.loan_amount_yuan) filter (where events.record_type = 'new_loan') as new_loan_amount_yuan,
        count(distinct events.person_key) filter (where events.record_type = 'repayment_relief') as relief_students,
        sum(events.relief_yuan) filter (where events.record_type = 'repayment_relief') as relief_amount_yuan
    from days
    inner join events
        on
            days.month_start = events.month_start
            and days.as_of_date >= events.event_date
    group by {{ county_and_city(['days.month_start', 'days.as_of_date'], 'events.county_code') }}

),

final as (

    select
        days.month_start,
        days.as_of_date,
        days.as_of_date = (days.month_start + interval '1 month' - interval '1 day')::date as is_month_end,
        counties.county_code,
        {{ county_columns() }},
        {{ zero_if_missing('to_date', [
            'new_loan_students', 'new_loans', 'new_loan_amount_yuan', 'relief_students', 'relief_amount_yuan',
        ]) }}

    from days
    cross join counties
    left join to_date
        on
            days.month_start = to_date.month_start
            and days.as_of_date = to_date.as_of_date
            and counties.county_code = to_date.county_code

)

select * from final
