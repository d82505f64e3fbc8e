{{ config(materialized='month_partitioned', partition_by='month_start') }}

with

microcredit as (

    select * from {{ ref('stg_microcredit__loans') }}
    {% if var('month') %}
        where month_start = {{ run_month() }}
    {% endif %}

),

final as (

    select
        loan_month_id,
        month_start,
        'microcredit' as loan_program,
        county_code,
        borrower_key as household_key,
        household_type,
        account_no,
        bank,
        issue_date,
        maturity_date,
        loan_amount_yuan,
        balance_yuan,
        repaid_yuan,
        balance_yuan > 0 as has_balance,
        extract(year from issue_date) = extract(year from month_start) as is_new_in_year,
        load_id,
        source_sheet,
        source_row

    from microcredit

)

select * from final
