{{ config(materialized='month_partitioned', partition_by='month_start') }}

with

{{ import_ctes(
    monthly={'projects': 'fct_projects'},
    whole={'project_types': 'dim_project_type', 'counties': 'dim_county'}
) }}

typed as (

    select
        projects.*,
        project_types.category_code,
        project_types.category_zh,
        project_types.project_type_zh
    from projects
    inner join project_types
        on projects.project_type_code = project_types.project_type_code

),

-- Counties and the city, each by kind, by category and by type, in one pass over the detail.
aggregated as (

    select
        month_start,
        {{ county_or_city() }} as county_code,
        case
            when grouping(project_type_code) = 0 then 'type'
            when grouping(category_code) = 0 then 'category'
            else 'kind'
        end as rollup_level,
        project_kind,
        program_code,
        coalesce(category_code, 'all') as category_code,
        coalesce(category_zh, '合计') as category_zh,
        coalesce(project_type_code, 'all') as project_type_code,
        coalesce(project_type_zh, '合计') as project_type_zh,
        count(*) as library_projects,
        count(*) filter (where is_implemented) as projects,
        count(*) filter (where status_stage = 'not_started') as not_started_projects,
        count(*) filter (where is_started) as started_projects,
        count(*) filter (where is_in_progress) as in_progress_projects,
        count(*) filter (where is_completed) as completed_projects,
        sum(total_investment_yuan) as total_investment_yuan,
        sum(funds_allocated_yuan) filter (where is_implemented) as funds_allocated_yuan,
        sum(funds_paid_yuan) filter (where is_implemented) as funds_paid_yuan,
        sum(linkage_funds_yuan) filter (where is_implemented) as linkage_funds_yuan,
        sum(linkage_paid_yuan) filter (where is_implemented) as linkage_paid_yuan,
        sum(benefit_households) filter (where is_implemented) as benefit_households,
        sum(benefit_persons) filter (where is_implemented) as benefit_persons,
        sum(benefit_income_yuan) filter (where is_implemented) as benefit_income_yuan
    from typed
    group by grouping sets (
        (
            month_start, county_code, project_kind, program_code, category_code, category_zh, project_type_code,
            project_type_zh
        ),
        (month_start, county_code, project_kind, program_code, category_code, category_zh),
        (month_start, county_code, project_kind, program_code),
        (month_start, project_kind, program_code, category_code, category_zh, project_type_code, project_type_zh),
        (month_start, project_kind, program_code, category_code, category_zh),
        (month_start, project_kind, program_code)
    )

),

final as (

    select
        aggregated.month_start,
        aggregated.county_code,
        {{ county_columns() }},
        aggregated.rollup_level,
        aggregated.project_kind,
        aggregated.program_code,
        aggregated.category_code,
        aggregated.category_zh,
        aggregated.project_type_code,
        aggregated.project_type_zh,
        aggregated.library_projects,
        aggregated.projects,
        aggregated.not_started_projects,
        aggregated.started_projects,
        aggregated.in_progress_projects,
        aggregated.completed_projects,
        round(100.0 * aggregated.started_projects / nullif(aggregated.projects, 0), 2) as started_pct,
        round(100.0 * aggregated.completed_projects / nullif(aggregated.projects, 0), 2) as completion_pct,
        aggregated.total_investment_yuan,
        aggregated.funds_allocated_yuan,
        aggregated.funds_paid_yuan,
        round(100.0 * aggregated.funds_paid_yuan / nullif(aggregated.funds_allocated_yuan, 0), 2) as disbursement_pct,
        aggregated.linkage_funds_yuan,
        aggregated.linkage_paid_yuan,
        round(100.0 * aggregated.linkage_paid_yuan / nullif(aggregated.linkage_funds_yuan, 0), 2)
            as linkage_disbursement_pct,
        round(
            100.0 * aggregated.linkage_funds_yuan / nullif(sum(aggregated.linkage_funds_yuan) filter (
                where aggregated.rollup_level = 'kind'
            ) over (partition by aggregated.month_start, aggregated.county_code, aggregated.project_kind), 0),
            2
        ) as linkage_funds_share_pct,
        aggregated.benefit_households,
        aggregated.benefit_persons,
        aggregated.benefit_income_yuan,
        round(aggregated.benefit_income_yuan / nullif(aggregated.benefit_households, 0), 2)
            as benefit_income_per_household_yuan

    from aggregated
    inner join counties
        on aggregated.county_code = counties.county_code

)

select * from final
