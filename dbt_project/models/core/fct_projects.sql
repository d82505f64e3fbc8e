{{ config(materialized='month_partitioned', partition_by='month_start') }}

{#- The linkage and benefit figures that only linkage projects report: null for water and housing. -#}
{%- set no_linkage_figures %}
        null::numeric as linkage_funds_yuan,
        null::numeric as linkage_paid_yuan,
        null::integer as benefit_households,
        null::integer as benefit_persons,
        null::numeric as benefit_income_yuan,
{%- endset %}

with

{{ import_ctes(
    monthly={
        'linkage_projects': 'stg_linkage_projects__projects',
        'water_projects': 'stg_water_projects__projects',
        'housing_renovations': 'stg_housing_renovation__renovations',
    },
    whole={'project_types': 'dim_project_type'}
) }}

unioned as (

    select
        project_month_id,
        month_start,
        county_code,
        'linkage' as project_kind,
        project_no,
        project_name,
        null::text as household_key,
        category as category_zh,
        project_type as project_type_zh,
        status as status_reported,
        planned_investment_yuan as total_investment_yuan,
        fiscal_funds_yuan as funds_allocated_yuan,
        spent_yuan as funds_paid_yuan,
        linkage_funds_yuan,
        linkage_spent_yuan as linkage_paid_yuan,
        benefit_households,
        benefit_persons,
        benefit_income_yuan,
        load_id,
        source_sheet,
        source_row
    from linkage_projects

    union all

    select
        project_month_id,
        month_start,
        county_code,
        'water' as project_kind,
        project_no,
        project_name,
        null::text as household_key,
        '四水共治' as category_zh,
        coalesce(water_type, '未注明') as project_type_zh,
        status as status_reported,
        total_investment_yuan,
        planned_in_year_yuan as funds_allocated_yuan,
        completed_in_year_yuan as funds_paid_yuan,
        {{- no_linkage_figures }}
        load_id,
        source_sheet,
        source_row
    from water_projects

    union all

    select
        renovation_month_id as project_month_id,
        month_start,
        county_code,
        'housing' as project_kind,
        household_key as project_no,
        null::text as project_name,
        household_key,
        '危房改造' as category_zh,
        coalesce(method, '未注明') as project_type_zh,
        progress as status_reported,
        null::numeric as total_investment_yuan,
        subsidy_yuan as funds_allocated_yuan,
        null::numeric as funds_paid_yuan,
        {{- no_linkage_figures }}
        load_id,
        source_sheet,
        source_row
    from housing_renovations

),

-- One stage per status; the flags below derive from it alone, so in_progress + completed = started.
staged as (

    select
        unioned.*,
        case unioned.status_reported
            when '入库待实施' then 'library'
            when '未开工' then 'not_started'
            when '在建' then 'in_progress'
            when '已完工' then 'completed'
            when '已竣工' then 'completed'
        end as status_stage
    from unioned

),

final as (

    select
        staged.project_month_id,
        staged.month_start,
        staged.county_code,
        project_types.program_code,
        staged.project_kind,
        project_types.project_type_code,
        project_types.is_industry,
        staged.project_no,
        staged.project_name,
        staged.household_key,
        staged.status_reported,
        staged.status_stage,
        staged.status_stage != 'library' as is_implemented,
        staged.status_stage in ('in_progress', 'completed') as is_started,
        staged.status_stage = 'in_progress' as is_in_progress,
        staged.status_stage = 'completed' as is_completed,
        staged.total_investment_yuan,
        staged.funds_allocated_yuan,
        staged.funds_paid_yuan,
        staged.linkage_funds_yuan,
        staged.linkage_paid_yuan,
        staged.benefit_households,
        staged.benefit_persons,
        staged.benefit_income_yuan,
        staged.load_id,
        staged.source_sheet,
        staged.source_row

    from staged
    left join project_types
        on
            staged.project_kind = project_types.project_kind
            and staged.category_zh = project_types.category_zh
            and staged.project_type_zh = project_types.project_type_zh

)

select * from final
