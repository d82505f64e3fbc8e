with

source as (

    select * from {{ source('linkage_projects', 'linkage_projects_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as project_month_id,
        {{ staged_columns('linkage_projects', 'linkage_projects_current') }}

    from source

)

select * from renamed
