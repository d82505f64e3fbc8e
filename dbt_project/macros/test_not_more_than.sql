{#- Generic test: part <= whole on every row (e.g. cleared households <= households).
    Rows where either side is null are not compared. -#}
{% test not_more_than(model, column_name, whole) %}
    select *
    from {{ model }}
    where {{ column_name }} > {{ whole }}
{% endtest %}
