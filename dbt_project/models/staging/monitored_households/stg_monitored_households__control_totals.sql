with

source as (

    select * from {{ source('monitored_households', 'monitored_household_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        households::integer as households,
        persons::integer as persons,
        unstable_households::integer as unstable_households,
        unstable_persons::integer as unstable_persons,
        unstable_cleared_households::integer as unstable_cleared_households,
        unstable_cleared_persons::integer as unstable_cleared_persons,
        marginal_households::integer as marginal_households,
        marginal_persons::integer as marginal_persons,
        marginal_cleared_households::integer as marginal_cleared_households,
        marginal_cleared_persons::integer as marginal_cleared_persons,
        hardship_households::integer as hardship_households,
        hardship_persons::integer as hardship_persons,
        hardship_cleared_households::integer as hardship_cleared_households,
        hardship_cleared_persons::integer as hardship_cleared_persons,
        cleared_households::integer as cleared_households,
        cleared_persons::integer as cleared_persons,
        cleared_share::numeric as cleared_household_share_pct,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
