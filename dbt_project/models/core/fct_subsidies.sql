{{ config(materialized='month_partitioned', partition_by='month_start') }}

with

{{ import_ctes(
    monthly={
        'social_assistance': 'stg_social_assistance__payments',
        'disability_subsidies': 'stg_disability_subsidies__payments',
        'education_aid': 'stg_education_aid__payments',
    },
    whole={'programs': 'dim_program'}
) }}

payments as (

    select
        payment_id,
        month_start,
        county_code,
        assistance_type as program_name_zh,
        person_key,
        household_key,
        amount_yuan,
        paid_on,
        null::text as item,
        null::text as school_stage,
        null::text as disability_grade,
        load_id,
        source_sheet,
        source_row
    from social_assistance

    union all

    select
        payment_id,
        month_start,
        county_code,
        subsidy_type as program_name_zh,
        person_key,
        null::text as household_key,
        amount_yuan,
        null::date as paid_on,
        null::text as item,
        null::text as school_stage,
        disability_grade,
        load_id,
        source_sheet,
        source_row
    from disability_subsidies

    union all

    select
        payment_id,
        month_start,
        county_code,
        program as program_name_zh,
        student_key as person_key,
        guardian_key as household_key,
        amount_yuan,
        paid_on,
        item,
        school_stage,
        null::text as disability_grade,
        load_id,
        source_sheet,
        source_row
    from education_aid

),

final as (

    select
        payments.payment_id as subsidy_payment_id,
        payments.month_start,
        payments.county_code,
        programs.program_code,
        payments.person_key,
        payments.household_key,
        payments.amount_yuan,
        payments.paid_on,
        payments.item,
        payments.school_stage,
        payments.disability_grade,
        payments.load_id,
        payments.source_sheet,
        payments.source_row

    from payments
    left join programs
        on payments.program_name_zh = programs.name_zh

)

select * from final
