{#- Every pseudonymised key the listed staging models carry, in the run's month (every month when
    `month` is empty): one row per key per model and month, with the birth year, sex and region
    derived from the ID at ingestion. Each source is {'model': ..., 'key': <key column>,
    'prefix': <the x of x_birth_year, x_sex, x_region>}. -#}
{% macro pseudonymised_keys(sources) -%}
    {%- for source in sources %}
    select distinct
        {{ source.key }} as pseudonym_key,
        {{ source.prefix }}_birth_year as birth_year,
        {{ source.prefix }}_sex as sex,
        {{ source.prefix }}_region as region,
        month_start,
        '{{ source.model }}' as seen_in
    from {{ ref(source.model) }}
    {%- if var('month') %}
    where month_start = {{ run_month() }}
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The body of an append-only pseudonymised dimension (dim_person, dim_household): one row per key
    first seen in the run's month, with the birth year, sex and region derived from the ID
    (named `<attribute_prefix>birth_year` ...), the month and the model it was first seen in. The
    dimension is an append-only incremental table, unique on `key`: a run adds only the keys the table
    does not hold yet. -#}
{% macro first_seen_keys(sources, key, attribute_prefix='') -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': [key], 'unique': true}],
) }}
with

seen as (

    {{ pseudonymised_keys(sources) }}

),

first_seen as (

    select
        pseudonym_key as {{ key }},
        min(birth_year) as {{ attribute_prefix }}birth_year,
        min(sex) as {{ attribute_prefix }}sex,
        min(region) as {{ attribute_prefix }}region,
        min(month_start) as first_seen_month,
        (array_agg(seen_in order by month_start, seen_in))[1] as first_seen_in

    from seen
    group by pseudonym_key

)

select * from first_seen
{% if is_incremental() %}
    where not exists (
        select from {{ this }} as known
        where known.{{ key }} = first_seen.{{ key }}
    )
{% endif %}
{%- endmacro %}
