{#- The city (商丘市) and its counties. The city's code is defined once, as the var `city_code` in
    dbt_project.yml (include/config.py reads CITY_CODE from there); every county row of a mart rolls up
    to one row under that code. -#}
{% macro city_code() -%}
    '{{ var("city_code") }}'
{%- endmacro %}

{#- The grouping sets of a county-and-city rollup: one group per `keys` and county, and one per `keys`
    alone, the city's. -#}
{% macro county_and_city(keys, county='county_code') -%}
    grouping sets (({{ (keys + [county]) | join(', ') }}), ({{ keys | join(', ') }}))
{%- endmacro %}

{#- The county code of a row of such a rollup: the county's, or the city's on the row that sums them. -#}
{% macro county_or_city(county='county_code') -%}
    case when grouping({{ county }}) = 1 then {{ city_code() }} else {{ county }} end
{%- endmacro %}

{#- The county columns every mart carries beside its county code, from dim_county (as `counties`). -#}
{% macro county_columns(counties='counties') -%}
    {{ counties }}.county_name,
    {{ counties }}.is_city,
    {{ counties }}.sort_order
{%- endmacro %}
