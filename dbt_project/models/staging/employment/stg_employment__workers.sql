with

source as (

    select * from {{ source('employment', 'employment_workers_current') }}

),

renamed as (

    select
        _load_id || '-' || _row_number as employment_id,
        {{ staged_columns('employment', 'employment_workers_current') }}

    from source

)

select * from renamed
