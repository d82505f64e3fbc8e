with

source as (

    select * from {{ source('disability_subsidies', 'disability_subsidy_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        living_persons::integer as living_persons,
        {{ to_base_unit('living_amount', 'living_amount__unit') }} as living_amount_yuan,
        care_persons::integer as care_persons,
        {{ to_base_unit('care_amount', 'care_amount__unit') }} as care_amount_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
