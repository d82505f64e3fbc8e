with

source as (

    select * from {{ source('monitored_households', 'monitored_household_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        {{ staged_columns('monitored_households', 'monitored_household_control_totals_current') }}

    from source

)

select * from renamed
