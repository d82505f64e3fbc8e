with

source as (

    select * from {{ source('education_aid', 'education_aid_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        aid_times::integer as aid_times,
        {{ to_base_unit('aid_amount', 'aid_amount__unit') }} as aid_amount_yuan,
        yulu_times::integer as yulu_times,
        {{ to_base_unit('yulu_amount', 'yulu_amount__unit') }} as yulu_amount_yuan,
        freshman_persons::integer as freshman_persons,
        {{ to_base_unit('freshman_amount', 'freshman_amount__unit') }} as freshman_amount_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
