{#- Generic test: on every row, `total` equals the sum of `parts` (SQL expressions, e.g. booleans cast
    to int). Fails on the rows where it does not, including a null on one side only. -#}
{% test columns_add_up(model, total, parts) %}
    select *
    from {{ model }}
    where ({{ total }}) is distinct from ({{ parts | join(' + ') }})
{% endtest %}
