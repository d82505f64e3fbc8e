with

{{ import_ctes(whole={'programs': 'ref_programs'}) }}

final as (

    select
        program_code,
        name_zh,
        name_en,
        department,
        feed,
        fact,
        persons_basis,
        sort_order

    from programs

)

select * from final
