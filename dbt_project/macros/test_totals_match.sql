{#- Generic test: an aggregate of the model equals an aggregate of another relation, group by group
    (a missing group counts as 0). Each side has its own filter. Scoped to the run's month when there
    is one (both sides need `month_start`, which must be among `by`). Returns the groups that disagree. -#}
{% test totals_match(model, expression, compare_model, compare_expression, by, filter='true', compare_filter='true') %}
    {%- set month_scope = "month_start = " ~ run_month() if var('month') else 'true' -%}
    with

    actual as (
        select {{ by | join(', ') }}, {{ expression }} as total
        from {{ model }}
        where ({{ filter }}) and {{ month_scope }}
        group by {{ by | join(', ') }}
    ),

    expected as (
        select {{ by | join(', ') }}, {{ compare_expression }} as total
        from {{ compare_model }}
        where ({{ compare_filter }}) and {{ month_scope }}
        group by {{ by | join(', ') }}
    )

    select
        {{ by | join(', ') }},
        actual.total as actual_total,
        expected.total as expected_total
    from actual
    full outer join expected using ({{ by | join(', ') }})
    where coalesce(actual.total, 0) <> coalesce(expected.total, 0)
{% endtest %}
