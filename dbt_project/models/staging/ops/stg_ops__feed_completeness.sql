with

source as (

    select * from {{ source('ops', 'feed_completeness') }}

),

renamed as (

    select
        feed,
        department,
        county_code,
        feed_month as month_start,
        deadline_at,
        first_received_at as delivered_at,
        versions_loaded,
        versions_quarantined,
        detail_rows,
        status

    from source

)

select * from renamed
