{#- Convert a value to its base unit (元 or 千瓦时) from the unit kept beside it in raw, by the
    factors of the var unit_factors (dbt_project.yml), which include/ingest/values.py UNITS reads too. -#}
{% macro to_base_unit(value, unit) -%}
    (
        {{ value }}::numeric * case {{ unit }}
        {%- for factors in var('unit_factors').values() %}
            {%- for name, factor in factors.items() %}
            when '{{ name }}' then {{ factor }}
            {%- endfor %}
        {%- endfor %}
        end
    )
{%- endmacro %}

{#- The run's month as a date literal, or null when the run covers every month. -#}
{% macro run_month() -%}
    {%- if var('month') -%} '{{ var("month") }}'::date {%- else -%} null::date {%- endif -%}
{%- endmacro %}
