with

source as (

    select * from {{ source('water_projects', 'water_project_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        projects::integer as projects,
        started::integer as started_projects,
        {{ to_base_unit('total_investment', 'total_investment__unit') }} as total_investment_yuan,
        {{ to_base_unit('planned_2021', 'planned_2021__unit') }} as planned_in_year_yuan,
        {{ to_base_unit('completed_2021', 'completed_2021__unit') }} as completed_in_year_yuan,
        completion_rate::numeric as completion_rate_pct,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
