with

source as (

    select * from {{ source('linkage_projects', 'linkage_project_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        {{ staged_columns('linkage_projects', 'linkage_project_control_totals_current') }}

    from source

)

select * from renamed
