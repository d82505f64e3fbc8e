with

source as (

    select * from {{ source('housing_renovation', 'housing_renovations_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as renovation_month_id,
        {{ staged_columns('housing_renovation', 'housing_renovations_current') }}

    from source

)

select * from renamed
