with

source as (

    select * from {{ source('microcredit', 'microcredit_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        -- the printed table leaves a rate or a rank blank where it has none
        nullif(new_household_rate, '')::numeric as new_household_rate_pct,
        nullif(balance_household_rate, '')::numeric as balance_household_rate_pct,
        nullif(rank, '')::integer as printed_rank,
        {{ staged_columns('microcredit', 'microcredit_control_totals_current') }}

    from source

)

select * from renamed
