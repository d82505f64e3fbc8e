with

source as (

    select * from {{ source('water_projects', 'water_projects_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as project_month_id,
        _feed_month as month_start,
        county_code,
        project_no,
        project_name,
        water_type,
        status,
        {{ to_base_unit('total_investment', 'total_investment__unit') }} as total_investment_yuan,
        {{ to_base_unit('planned_2021', 'planned_2021__unit') }} as planned_in_year_yuan,
        {{ to_base_unit('completed_2021', 'completed_2021__unit') }} as completed_in_year_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
