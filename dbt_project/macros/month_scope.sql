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

{#- What a data test reads of the model it tests (dbt's own macro, overridden): with a `where` config, the
    rows it selects; otherwise, in a month run, the run's month of a month-partitioned model or of a feed's
    staging model (meta `month_scoped_tests`). A monthly run tests the month it built, and the other months
    were tested when they were built, so month 12 costs what month 1 did. `dbt test` without the `month` var
    still tests the whole history. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if not where and var('month') and execute -%}
        {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
        {%- if tested and tested.config.materialized == 'month_partitioned' -%}
            {%- set where = tested.config.get('partition_by', 'month_start') ~ ' = ' ~ run_month() -%}
        {%- elif tested and tested.config.meta.get('month_scoped_tests') -%}
            {%- set where = 'month_start = ' ~ run_month() -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- The filter that keeps a month run to the run's month: `where month_start = <the run month>` (or
    `and …` after a condition of the query's own), and nothing when the run covers every month. -#}
{% macro month_filter(column='month_start', keyword='where') -%}
    {%- if var('month') -%} {{ keyword }} {{ column }} = {{ run_month() }} {%- endif -%}
{%- endmacro %}

{#- The import CTEs a model opens with (GitLab's `simple_cte`, with the month built in): one
    `select *` CTE per relation, named by its key. A relation in `monthly` is read for the run's month
    alone (the month filter above); one in `whole`, a dimension or a lookup, is read whole. An import
    that selects more than that is written out in the model. Each CTE ends with a comma: the model's
    own CTEs follow. -#}
{% macro import_ctes(monthly={}, whole={}) -%}
    {%- for name, relation in monthly.items() %}
{{ name }} as (

    select * from {{ ref(relation) }}
    {{ month_filter() }}

),
{% endfor -%}
    {%- for name, relation in whole.items() %}
{{ name }} as (

    select * from {{ ref(relation) }}

),
{% endfor -%}
{%- endmacro %}
