{#- Convert an amount written in 元 / 万元 / 亿元 (its unit in a sibling column) to 元. -#}
{% macro to_yuan(amount, unit) -%}
    (
        {{ amount }}::numeric * case {{ unit }}
            when '元' then 1
            when '万元' then 10000
            when '亿元' then 100000000
        end
    )
{%- endmacro %}

{#- The run's month as a date literal, or null when the run covers every month. -#}
{% macro run_month() -%}
    {%- if var('month') -%} '{{ var("month") }}'::date {%- else -%} null::date {%- endif -%}
{%- endmacro %}
