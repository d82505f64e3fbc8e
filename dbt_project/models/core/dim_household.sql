{#- Append-only: a run adds the household keys first seen in its month's staging; it never rereads
    history. A household is keyed by its head's (or borrower's) resident ID. To add a feed, add one
    line to `sources`. -#}
{%- set sources = [
    {'model': 'stg_monitored_households__households', 'key': 'household_key', 'prefix': 'head'},
    {'model': 'stg_microcredit__loans', 'key': 'borrower_key', 'prefix': 'borrower'},
] -%}

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['household_key'], 'unique': true}],
) }}

with

seen as (

    {{ pseudonymised_keys(sources) }}

),

first_seen as (

    select
        pseudonym_key as household_key,
        min(birth_year) as head_birth_year,
        min(sex) as head_sex,
        min(region) as head_region,
        min(month_start) as first_seen_month,
        (array_agg(seen_in order by month_start, seen_in))[1] as first_seen_in

    from seen
    group by pseudonym_key

)

select * from first_seen
{% if is_incremental() %}
    where not exists (
        select from {{ this }} as known
        where known.household_key = first_seen.household_key
    )
{% endif %}
