with

source as (

    select * from {{ source('microcredit', 'microcredit_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        lifted_households::integer as lifted_households,
        monitored_households::integer as monitored_households,
        balance_households::integer as balance_households,
        new_households::integer as new_households,
        nullif(new_household_rate, '')::numeric as new_household_rate_pct,
        nullif(balance_household_rate, '')::numeric as balance_household_rate_pct,
        nullif(rank, '')::integer as printed_rank,
        _load_id as load_id,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
