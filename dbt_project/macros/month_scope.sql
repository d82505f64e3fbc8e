{#- Whether a month run can build on the earlier partitions of the model being built (the previous
    month's year-to-date row, the persons already paid this year): only for a single month other than
    January, once the model's table exists. A run over every month accumulates within its own batch. -#}
{% macro builds_on_earlier_months() -%}
    {%- if not execute or not var('month') or (var('month') | string)[5:7] == '01' -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(load_relation(this) is not none) }}
{%- endmacro %}

{#- The first day of the month before the run's month, as a date literal. -#}
{% macro previous_month() -%}
    ({{ run_month() }} - interval '1 month')::date
{%- endmacro %}
