with

source as (

    select * from {{ source('ops', 'feeds') }}

),

renamed as (

    select
        feed,
        name_zh as feed_name_zh,
        department,
        department_zh,
        grain,
        deadline_day

    from source

)

select * from renamed
