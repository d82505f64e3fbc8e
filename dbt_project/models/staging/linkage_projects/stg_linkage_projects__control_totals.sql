with

source as (

    select * from {{ source('linkage_projects', 'linkage_project_control_totals_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as control_total_id,
        _feed_month as month_start,
        county_code,
        library_projects::integer as library_projects,
        implemented::integer as implemented_projects,
        started::integer as started_projects,
        in_progress::integer as in_progress_projects,
        completed::integer as completed_projects,
        completion_rate::numeric as completion_rate_pct,
        {{ to_base_unit('fiscal_funds', 'fiscal_funds__unit') }} as fiscal_funds_yuan,
        {{ to_base_unit('spent', 'spent__unit') }} as spent_yuan,
        spent_rate::numeric as spent_rate_pct,
        {{ to_base_unit('linkage_funds', 'linkage_funds__unit') }} as linkage_funds_yuan,
        {{ to_base_unit('linkage_spent', 'linkage_spent__unit') }} as linkage_spent_yuan,
        linkage_spent_rate::numeric as linkage_spent_rate_pct,
        industry_projects::integer as industry_projects,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
