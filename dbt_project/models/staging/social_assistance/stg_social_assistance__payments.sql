with

source as (

    select * from {{ source('social_assistance', 'social_assistance_payments_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as payment_id,
        _feed_month as month_start,
        county_code,
        township,
        village,
        assistance_type,
        person_id_key as person_key,
        person_id_birth_year::integer as person_birth_year,
        person_id_sex as person_sex,
        head_id_key as household_key,
        household_size::integer as household_size,
        {{ to_base_unit('amount', 'amount__unit') }} as amount_yuan,
        paid_on::date as paid_on,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
