with

source as (

    select * from {{ source('poverty_assets', 'poverty_assets_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as asset_month_id,
        {{ staged_columns('poverty_assets', 'poverty_assets_current') }}

    from source

)

select * from renamed
