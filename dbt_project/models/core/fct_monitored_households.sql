{{ config(materialized='month_partitioned', partition_by='month_start') }}
-- depends_on: {{ ref('dim_household') }}

with

{{ import_ctes(monthly={'households': 'stg_monitored_households__households'}) }}

final as (

    select
        monitored_household_id,
        month_start,
        county_code,
        household_key,
        household_no,
        township,
        village,
        category,
        persons,
        risk_type,
        is_risk_cleared,
        identified_on,
        identified_on >= date_trunc('year', month_start) as is_identified_in_year,
        income_per_capita_yuan,
        load_id,
        source_sheet,
        source_row

    from households

)

select * from final
