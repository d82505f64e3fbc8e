with

source as (

    select * from {{ source('education_aid', 'education_aid_payments_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as payment_id,
        {{ staged_columns('education_aid', 'education_aid_payments_current') }}

    from source

)

select * from renamed
