{#- The calendar of reporting months: 2021-01 (the first year of the 过渡期) to the end of 2025,
    unless the vars say otherwise. year, month and quarter keep their calendar names (noqa RF04). -#}
with

months as (

    select
        generate_series(
            '{{ var("first_month", "2021-01-01") }}'::date,
            '{{ var("last_month", "2025-12-01") }}'::date,
            interval '1 month'
        )::date as month_start

),

final as (

    select
        month_start,
        (month_start + interval '1 month' - interval '1 day')::date as month_end,
        extract(year from month_start)::integer as year,  -- noqa: RF04
        extract(month from month_start)::integer as month,  -- noqa: RF04
        extract(quarter from month_start)::integer as quarter,  -- noqa: RF04
        date_trunc('year', month_start)::date as year_start,
        extract(year from month_start) || '年' || extract(month from month_start) || '月' as label_zh

    from months

)

select * from final
