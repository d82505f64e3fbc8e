with

{{ import_ctes(whole={'project_types': 'ref_project_types'}) }}

final as (

    select
        project_type_code,
        project_kind,
        program_code,
        category_code,
        category_zh,
        category_en,
        project_type_zh,
        project_type_en,
        is_industry

    from project_types

)

select * from final
