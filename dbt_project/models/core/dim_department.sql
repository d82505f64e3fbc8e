{#- Departments as the feed registry (ops.feeds, written from the contracts) names them. A department
    that sends several feeds prints its name differently in each contract; the shortest is kept. -#}
with

{{ import_ctes(whole={'feeds': 'stg_ops__feeds'}) }}

final as (

    select
        department,
        (array_agg(department_zh order by length(department_zh), department_zh))[1] as department_zh,
        count(*) as feed_count,
        string_agg(feed, ', ' order by feed) as feeds

    from feeds
    group by department

)

select * from final
