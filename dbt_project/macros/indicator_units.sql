{#- The units an indicator report may declare, each with its factor to the base unit and that base
    unit: the vars count_units and unit_factors (dbt_project.yml). Rates stay percent. -#}
{% macro indicator_units() -%}
    {%- set units = {} -%}
    {%- for table in (var('count_units'), var('unit_factors')) -%}
        {%- for base, factors in table.items() -%}
            {%- for name, factor in factors.items() -%}
                {%- do units.update({name: [factor, base]}) -%}
            {%- endfor -%}
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
