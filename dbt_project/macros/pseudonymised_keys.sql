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
