{#- Generic test for marts: for each month and `group_by` key, the 商丘市 row (is_city) of each additive
    column equals the sum of the county rows. A missing city row fails too (null against a sum). -#}
{% test city_is_sum_of_counties(model, columns, group_by=[]) %}
    {%- set keys = ['month_start'] + group_by %}
    select {{ keys | join(', ') }}
    from {{ model }}
    group by {{ keys | join(', ') }}
    having
    {%- for column in columns %}
        {{ 'or ' if not loop.first }}sum({{ column }}) filter (where is_city)
        is distinct from sum({{ column }}) filter (where not is_city)
    {%- endfor %}
{% endtest %}
