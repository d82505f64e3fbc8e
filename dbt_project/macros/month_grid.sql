{#- The months a mart reports: every month with a row in any of `relations` (CTE names). -#}
{% macro months_of(relations) -%}
    {%- for relation in relations %}
    select distinct month_start from {{ relation }}
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- The `columns` of `relation` (a left-joined rollup), zero where the grid's row has none. -#}
{% macro zero_if_missing(relation, columns) -%}
    {%- for column in columns %}
    coalesce({{ relation }}.{{ column }}, 0) as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
