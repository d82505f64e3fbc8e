{#- Append-only: a run adds the person keys first seen in its month's staging; it never rereads
    history. To add a feed, add one line to `sources`. -#}
{%- set sources = [
    {'model': 'stg_employment__workers', 'key': 'person_key', 'prefix': 'person'},
    {'model': 'stg_early_warning__warnings', 'key': 'person_key', 'prefix': 'person'},
    {'model': 'stg_monitored_households__households', 'key': 'household_key', 'prefix': 'head'},
    {'model': 'stg_microcredit__loans', 'key': 'borrower_key', 'prefix': 'borrower'},
] -%}

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['person_key'], 'unique': true}],
) }}

with

seen as (

    {{ pseudonymised_keys(sources) }}

),

first_seen as (

    select
        pseudonym_key as person_key,
        min(birth_year) as birth_year,
        min(sex) as sex,
        min(region) as region,
        min(month_start) as first_seen_month,
        (array_agg(seen_in order by month_start, seen_in))[1] as first_seen_in

    from seen
    group by pseudonym_key

)

select * from first_seen
{% if is_incremental() %}
    where not exists (
        select from {{ this }} as known
        where known.person_key = first_seen.person_key
    )
{% endif %}
