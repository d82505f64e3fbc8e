{#- Generic test: for each additive column, the city row (is_city) equals the sum of the county rows,
    month by month and per value of the `by` columns. Scoped to the run's month when there is one.
    Returns the groups that disagree. -#}
{% test city_row_is_county_sum(model, columns, by=[]) %}
    {%- set keys = ['month_start'] + by -%}
    with

    scoped as (
        select * from {{ model }}
        {% if var('month') %}
            where month_start = {{ run_month() }}
        {% endif %}
    ),

    city as (
        select {{ keys | join(', ') }}, {{ columns | join(', ') }}
        from scoped
        where is_city
    ),

    counties as (
        select
            {{ keys | join(', ') }},
            {%- for column in columns %}
                sum({{ column }}) as {{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        from scoped
        where not is_city
        group by {{ keys | join(', ') }}
    )

    select *
    from city
    full outer join counties using ({{ keys | join(', ') }})
    where
        {%- for column in columns %}
            city.{{ column }} is distinct from counties.{{ column }}{{ ' or' if not loop.last }}
        {%- endfor %}
{% endtest %}
