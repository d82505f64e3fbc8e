with

source as (

    select * from {{ source('water_projects', 'water_projects_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as project_month_id,
        {{ staged_columns('water_projects', 'water_projects_current') }}

    from source

)

select * from renamed
