with

source as (

    select * from {{ source('disability_subsidies', 'disability_subsidy_payments_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as payment_id,
        {{ staged_columns('disability_subsidies', 'disability_subsidy_payments_current') }}

    from source

)

select * from renamed
