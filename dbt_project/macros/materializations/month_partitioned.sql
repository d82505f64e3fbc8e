{#-
    month_partitioned: a fact table range-partitioned by month, rebuilt one month at a time.

    The model selects the rows of the run's month (var `month`; every month when it is empty).
    Each month in the result replaces its own partition: the partition is created if new,
    truncated, and refilled, all in the model's transaction. No other month is read or
    rewritten, so adding month 12 costs what adding month 1 did (measured in
    tests/benchmarks).

    A change of columns never loses the other months: a new column is added in place (earlier
    months read null in it). A column removed fails the model, naming it, and leaves the table as
    it was: `--full-refresh` (every month selected) rebuilds it on purpose. A month's values are
    stored in the table's column types (a month whose select yields numeric for a bigint column
    is cast, as an insert casts). An unpartitioned table of the same name is rebuilt.
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
    {%- set columns_sql = "select attname, format_type(atttypid, atttypmod) from pg_attribute where attrelid = '{}'::regclass and attnum > 0 and not attisdropped order by attnum" -%}
    {%- set batch = run_query(columns_sql.format(adapter.quote(staging_identifier))) -%}
    {%- set batch_columns = batch.columns[0].values() | list -%}
    {%- set batch_types = dict(zip(batch_columns, batch.columns[1].values())) -%}
    {%- if not rebuild -%}
        {%- set kind = run_query(
            "select relkind from pg_class where oid = '" ~ target_relation ~ "'::regclass"
        ).columns[0].values()[0] -%}
        {%- set rebuild = kind != 'p' -%}
    {%- endif -%}
    {%- if not rebuild -%}
        {%- set existing = run_query(columns_sql.format(target_relation)) -%}
        {%- set existing_types = dict(zip(existing.columns[0].values(), existing.columns[1].values())) -%}
        {%- set broken = [] -%}
        {%- for name, type in existing_types.items() if name not in batch_types -%}
            {%- do broken.append(name ~ ' ' ~ type ~ ' -> removed') -%}
        {%- endfor -%}
        {%- if broken -%}
            {{ exceptions.raise_compiler_error(
                this ~ " holds other months, and this change would lose them: " ~ broken | join(', ')
                ~ ". Keep the columns (add new ones instead), or rebuild every month on purpose with --full-refresh."
            ) }}
        {%- endif -%}
        {%- for name in batch_columns if name not in existing_types %}
            {% call statement('add_column_' ~ loop.index) -%}
                alter table {{ target_relation }} add column {{ adapter.quote(name) }} {{ batch_types[name] }}
            {%- endcall %}
        {%- endfor %}
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
        {%- set quoted = [] %}
        {%- for name in batch_columns %}{% do quoted.append(adapter.quote(name)) %}{% endfor %}
        insert into {{ target_relation }} ({{ quoted | join(', ') }})
            select {{ quoted | join(', ') }} from {{ adapter.quote(staging_identifier) }};
    {%- endcall %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
