{#- Generic test: the column never exceeds `bound` (a column or expression of the same row), e.g. a
    part never exceeds its whole. Rows where either side is null are not judged. -#}
{% test not_above(model, column_name, bound) %}
    select *
    from {{ model }}
    where {{ column_name }} > {{ bound }}
{% endtest %}
