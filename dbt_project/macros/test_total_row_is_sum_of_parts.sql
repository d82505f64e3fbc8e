{#- Generic test: in each group, the total row (where `total_flag` is true) equals the sum of the
    other rows, for every column listed. E.g. the 商丘市 row = sum of the county rows (total_flag
    is_city, group_by [month_start]), or the all-categories row = sum of the categories.
    A group with parts but no total row (or a total but no parts) fails too. -#}
{% test total_row_is_sum_of_parts(model, columns, total_flag, group_by) %}
    select
        {{ group_by | join(', ') }},
        {%- for column in columns %}
        sum({{ column }}) filter (where {{ total_flag }}) as total_{{ column }},
        sum({{ column }}) filter (where not {{ total_flag }}) as parts_{{ column }},
        {%- endfor %}
        count(*) as n
    from {{ model }}
    group by {{ group_by | join(', ') }}
    having
        {%- for column in columns %}
        sum({{ column }}) filter (where {{ total_flag }})
        is distinct from sum({{ column }}) filter (where not {{ total_flag }})
        {%- if not loop.last %} or{% endif %}
        {%- endfor %}
{% endtest %}
