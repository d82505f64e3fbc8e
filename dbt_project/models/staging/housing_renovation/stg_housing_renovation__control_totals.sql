with

source as (

    select * from {{ source('housing_renovation', 'housing_renovation_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        households::integer as households,
        completed::integer as completed_households,
        completion_rate::numeric as completion_rate_pct,
        {{ to_base_unit('subsidy', 'subsidy__unit') }} as subsidy_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
