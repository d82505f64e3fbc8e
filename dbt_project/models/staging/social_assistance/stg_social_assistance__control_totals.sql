with

source as (

    select * from {{ source('social_assistance', 'social_assistance_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        dibao_persons::integer as dibao_persons,
        {{ to_base_unit('dibao_amount', 'dibao_amount__unit') }} as dibao_amount_yuan,
        tekun_persons::integer as tekun_persons,
        {{ to_base_unit('tekun_amount', 'tekun_amount__unit') }} as tekun_amount_yuan,
        temp_times::integer as temp_assistance_times,
        {{ to_base_unit('temp_amount', 'temp_amount__unit') }} as temp_assistance_amount_yuan,
        {{ to_base_unit('total_amount', 'total_amount__unit') }} as total_amount_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
