{#-
    month_partitioned: a fact table range-partitioned by month, rebuilt one month at a time.

    The model selects the rows of the run's month (var `month`; every month when it is empty).
    Each month in the result replaces its own partition: the partition is created if new,
    truncated, and refilled, all in the model's transaction. No other month is read or
    rewritten, so adding month 12 costs what adding month 1 did (measured in
    tests/benchmarks). `--full-refresh`, a change of columns, or an unpartitioned table of the same name
    rebuilds the table.
-#}
{% materialization month_partitioned, adapter='postgres' %}
    {%- set partition_by = config.get('partition_by', 'month_start') -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set staging_identifier = this.identifier ~ '__month_batch' -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% call statement('stage_batch') -%}
        create temporary table {{ adapter.quote(staging_identifier) }} on commit drop as (
            {{ sql }}
        )
    {%- endcall %}

    {%- set rebuild = existing_relation is none or should_full_refresh() -%}
    {%- if not rebuild -%}
        {%- set existing_columns = adapter.get_columns_in_relation(existing_relation) | map(attribute='name') | list -%}
        {%- set batch_columns = run_query(
            "select attname from pg_attribute where attrelid = '" ~ staging_identifier
            ~ "'::regclass and attnum > 0 and not attisdropped order by attnum"
        ).columns[0].values() | list -%}
        {%- set kind = run_query(
            "select relkind from pg_class where oid = '" ~ target_relation ~ "'::regclass"
        ).columns[0].values()[0] -%}
        {%- set rebuild = existing_columns != batch_columns or kind != 'p' -%}
    {%- endif -%}

    {%- if rebuild -%}
        {% call statement('create_parent') -%}
            drop table if exists {{ target_relation }} cascade;
            create table {{ target_relation }} (like {{ adapter.quote(staging_identifier) }})
                partition by range ({{ partition_by }});
        {%- endcall %}
    {%- endif -%}

    {%- set months = run_query(
        "select distinct to_char(" ~ partition_by ~ ", 'YYYY-MM-DD') from " ~ adapter.quote(staging_identifier) ~ " order by 1"
    ).columns[0].values() -%}

    {% call statement('main') -%}
        {%- for month in months %}
            {%- set partition = adapter.quote(this.identifier ~ '__p' ~ month[:7] | replace('-', '')) %}
            create table if not exists {{ this.schema }}.{{ partition }}
                partition of {{ target_relation }}
                for values from ('{{ month }}') to (('{{ month }}'::date + interval '1 month')::date);
            truncate table {{ this.schema }}.{{ partition }};
        {%- endfor %}
        insert into {{ target_relation }} select * from {{ adapter.quote(staging_identifier) }};
    {%- endcall %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
