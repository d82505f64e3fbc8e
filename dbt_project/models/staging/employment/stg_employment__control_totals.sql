with

source as (

    select * from {{ source('employment', 'employment_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        {{ staged_columns('employment', 'employment_control_totals_current') }}

    from source

)

select * from renamed
