{#- Generic test: on every row the column equals the sum of `parts` (e.g. employed persons =
    the sum of the persons by employment type). -#}
{% test is_sum_of_columns(model, column_name, parts) %}
    select *
    from {{ model }}
    where {{ column_name }} is distinct from ({{ parts | join(' + ') }})
{% endtest %}
