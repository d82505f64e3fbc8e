with

source as (

    select * from {{ source('early_warning', 'early_warnings_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as warning_id,
        {{ staged_columns('early_warning', 'early_warnings_current') }}

    from source

)

select * from renamed
