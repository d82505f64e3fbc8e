{{ config(materialized='month_partitioned', partition_by='month_start') }}

{#- A month's partition holds only the persons paid for the first time this year (per program and
    county), so the table grows with the year's distinct recipients, not with its payments. -#}
{%- set build_on_earlier = builds_on_earlier_months() %}

with

{{ import_ctes(monthly={'payments': 'fct_subsidies'}) }}

programs as (

    select * from {{ ref('dim_program') }}
    where persons_basis = 'year'

),

first_paid as (

    select
        min(payments.month_start) as month_start,
        payments.program_code,
        payments.county_code,
        payments.person_key
    from payments
    inner join programs
        on payments.program_code = programs.program_code
    group by
        date_trunc('year', payments.month_start),
        payments.program_code,
        payments.county_code,
        payments.person_key

),

{% if build_on_earlier %}
    paid_earlier as (

        select
            program_code,
            county_code,
            person_key
        from {{ this }}
        where
            month_start >= date_trunc('year', {{ run_month() }})
            and month_start < {{ run_month() }}

    ),
{% endif %}

final as (

    select first_paid.*
    from first_paid
    {% if build_on_earlier %}
        left join paid_earlier
            on
                first_paid.program_code = paid_earlier.program_code
                and first_paid.county_code = paid_earlier.county_code
                and first_paid.person_key = paid_earlier.person_key
        where paid_earlier.person_key is null
    {% endif %}

)

select * from final
