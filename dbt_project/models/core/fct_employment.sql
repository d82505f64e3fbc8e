{{ config(materialized='month_partitioned', partition_by='month_start') }}
-- depends_on: {{ ref('dim_person') }}

with

{{ import_ctes(monthly={'workers': 'stg_employment__workers'}) }}

final as (

    select
        employment_id,
        month_start,
        county_code,
        person_key,
        person_type,
        employment_type,
        employment_type = '公益岗位' as is_public_welfare_post,
        workplace,
        employed_since,
        monthly_income_yuan,
        load_id,
        source_sheet,
        source_row

    from workers

)

select * from final
