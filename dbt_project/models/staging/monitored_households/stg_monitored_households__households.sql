with

source as (

    select * from {{ source('monitored_households', 'monitored_households_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as monitored_household_id,
        risk_cleared = '是' as is_risk_cleared,
        {{ staged_columns('monitored_households', 'monitored_households_current') }}

    from source

)

select * from renamed
