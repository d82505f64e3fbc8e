{{ config(materialized='month_partitioned', partition_by='month_start') }}

with

{{ import_ctes(
    monthly={'microcredit': 'stg_microcredit__loans', 'student_loans': 'stg_student_loans__loans'}
) }}

microcredit_accounts as (

    select
        loan_month_id,
        month_start,
        'microcredit' as loan_program,
        'account_snapshot' as record_type,
        county_code,
        borrower_key as person_key,
        borrower_key as household_key,
        household_type,
        account_no,
        bank,
        null::text as university,
        extract(year from issue_date)::integer as loan_year,
        issue_date,
        maturity_date,
        null::date as relief_date,
        loan_amount_yuan,
        balance_yuan,
        repaid_yuan,
        null::numeric as relief_yuan,
        balance_yuan > 0 as has_balance,
        extract(year from issue_date) = extract(year from month_start) as is_new_in_year,
        load_id,
        source_sheet,
        source_row
    from microcredit

),

student_loan_records as (

    select
        loan_record_id as loan_month_id,
        month_start,
        'student_loan' as loan_program,
        case business_type
            when '新发放贷款' then 'new_loan'
            when '还款救助' then 'repayment_relief'
        end as record_type,
        county_code,
        student_key as person_key,
        co_borrower_key as household_key,
        null::text as household_type,
        contract_no as account_no,
        null::text as bank,
        university,
        loan_year,
        case when business_type = '新发放贷款' then business_date end as issue_date,
        null::date as maturity_date,
        case when business_type = '还款救助' then business_date end as relief_date,
        loan_amount_yuan,
        null::numeric as balance_yuan,
        null::numeric as repaid_yuan,
        case when business_type = '还款救助' then relief_amount_yuan end as relief_yuan,
        null::boolean as has_balance,
        business_type = '新发放贷款'
        and extract(year from business_date) = extract(year from month_start) as is_new_in_year,
        load_id,
        source_sheet,
        source_row
    from student_loans

),

final as (

    select * from microcredit_accounts
    union all
    select * from student_loan_records

)

select * from final
