{#- Generic test: every row satisfies `condition` (a SQL boolean over the model's columns).
    Returns the rows where it is false or null. -#}
{% test holds_for_every_row(model, condition) %}
    select *
    from {{ model }}
    where not coalesce(({{ condition }}), false)
{% endtest %}
