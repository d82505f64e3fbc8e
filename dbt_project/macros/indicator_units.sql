{#- The units an indicator report may declare (samples/figures.yml `units`), each with its
    factor to the base unit and that base unit: the counts, 度 and percent here, and the amounts and
    quantities of the var unit_factors (dbt_project.yml). Rates stay percent. -#}
{% macro indicator_units() -%}
    {%- set units = {
        '人': [1, '人'], '万人': [10000, '人'], '万名': [10000, '人'],
        '人次': [1, '人次'], '万人次': [10000, '人次'],
        '户': [1, '户'], '万户': [10000, '户'],
        '个': [1, '个'], '件': [1, '件'], '条': [1, '条'], '期': [1, '期'],
        '度': [1, '千瓦时'],
        '%': [1, '%'],
    } -%}
    {%- for base, factors in var('unit_factors').items() -%}
        {%- for name, factor in factors.items() -%}
            {%- do units.update({name: [factor, base]}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(units) }}
{%- endmacro %}

{#- `value` in the base unit of `unit`; null for a unit not listed above (a test then fails). -#}
{% macro indicator_to_base_unit(value, unit) -%}
    (
        {{ value }}::numeric * case {{ unit }}
        {%- for name, conversion in indicator_units().items() %}
            when '{{ name }}' then {{ conversion[0] }}
        {%- endfor %}
        end
    )
{%- endmacro %}

{#- The base unit of `unit` (人, 人次, 户, 个, 件, 条, 期, 元, 千瓦时 or %); null when unknown. -#}
{% macro indicator_base_unit(unit) -%}
    case {{ unit }}
    {%- for name, conversion in indicator_units().items() %}
        when '{{ name }}' then '{{ conversion[1] }}'
    {%- endfor %}
    end
{%- endmacro %}
