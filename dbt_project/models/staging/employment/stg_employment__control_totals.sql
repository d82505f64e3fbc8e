with

source as (

    select * from {{ source('employment', 'employment_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        target::integer as target_persons,
        employed::integer as employed_persons,
        done_rate::numeric as done_rate_pct,
        public_welfare_posts::integer as public_welfare_posts,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
