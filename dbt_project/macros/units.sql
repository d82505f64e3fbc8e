{#- Convert a value to its base unit (元 or 千瓦时) from the unit kept beside it in raw.
    The factors are those of include/ingest/values.py UNITS. -#}
{% macro to_base_unit(value, unit) -%}
    (
        {{ value }}::numeric * case {{ unit }}
            when '元' then 1
            when '万元' then 10000
            when '亿元' then 100000000
            when '千瓦时' then 1
            when '万千瓦时' then 10000
            when '亿千瓦时' then 100000000
        end
    )
{%- endmacro %}

{#- The run's month as a date literal, or null when the run covers every month. -#}
{% macro run_month() -%}
    {%- if var('month') -%} '{{ var("month") }}'::date {%- else -%} null::date {%- endif -%}
{%- endmacro %}
