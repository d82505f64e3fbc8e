with

source as (

    select * from {{ source('linkage_projects', 'linkage_projects_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as project_month_id,
        _feed_month as month_start,
        county_code,
        project_no,
        project_name,
        township,
        category,
        project_type,
        status,
        listed_on::date as listed_on,
        {{ to_base_unit('planned_investment', 'planned_investment__unit') }} as planned_investment_yuan,
        {{ to_base_unit('fiscal_funds', 'fiscal_funds__unit') }} as fiscal_funds_yuan,
        {{ to_base_unit('linkage_funds', 'linkage_funds__unit') }} as linkage_funds_yuan,
        {{ to_base_unit('spent', 'spent__unit') }} as spent_yuan,
        {{ to_base_unit('linkage_spent', 'linkage_spent__unit') }} as linkage_spent_yuan,
        benefit_households::integer as benefit_households,
        benefit_persons::integer as benefit_persons,
        {{ to_base_unit('benefit_income', 'benefit_income__unit') }} as benefit_income_yuan,
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row

    from source

)

select * from renamed
