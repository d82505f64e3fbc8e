with

source as (

    select * from {{ source('social_assistance', 'social_assistance_payments_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as payment_id,
        {{ staged_columns('social_assistance', 'social_assistance_payments_current') }}

    from source

)

select * from renamed
