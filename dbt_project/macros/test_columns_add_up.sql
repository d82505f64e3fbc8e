{#- Generic test: on every row, `total` (or the column the test is attached to) equals the sum of
    `parts` (SQL expressions, e.g. booleans cast to int). Fails on the rows where it does not,
    including a null on one side only. -#}
{% test columns_add_up(model, parts, total=none, column_name=none) %}
    select *
    from {{ model }}
    where ({{ total or column_name }}) is distinct from ({{ parts | join(' + ') }})
{% endtest %}
