{#-
    month_partitioned: a fact table range-partitioned by month, rebuilt one month at a time.

    The model selects the rows of the run's month (var `month`; every month when it is empty).
    Each month in the result replaces its own partition: the partition is created if new,
    emptied (delete, not truncate) and refilled, all in the model's transaction. No other month
    is read or rewritten, so adding month 12 costs what adding month 1 did (measured in
    tests/benchmarks).

    Readers (BI, auditors) never wait for a rerun and never meet it in a lock cycle: a rerun
    takes no lock a reader conflicts with (a reader sees the old month until the commit), and
    the statements that do (a new month's partition, a new column, a rebuild) first take their
    exclusive locks all at once with `lock_up_front`, which never waits for longer than the
    session's deadlock_timeout. See the macro.

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
    {%- set months = run_query(
        "select distinct to_char(" ~ partition_by ~ ", 'YYYY-MM-DD') from " ~ adapter.quote(staging_identifier) ~ " order by 1"
    ).columns[0].values() -%}
    {%- if existing_relation is not none -%}
        {%- set new_partitions = [] -%}
        {%- for month in months -%}
            {%- set partition = month_partition(this, month) -%}
            {%- if run_query("select to_regclass('" ~ partition | replace("'", "''") ~ "')").columns[0].values()[0] is none -%}
                {%- do new_partitions.append(month) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set changed = rebuild or new_partitions or (batch_columns | reject('in', run_query(
            columns_sql.format(target_relation)).columns[0].values()) | list) -%}
        {%- if changed -%}
            {% call statement('lock_up_front') -%}
                {{ lock_up_front([target_relation]) }}
            {%- endcall %}
        {%- endif -%}
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

    {% call statement('main') -%}
        {%- for month in months %}
            {%- set partition = month_partition(this, month) %}
            create table if not exists {{ partition }}
                partition of {{ target_relation }}
                for values from ('{{ month }}') to (('{{ month }}'::date + interval '1 month')::date);
            delete from {{ partition }};
        {%- endfor %}
        {%- set quoted = [] %}
        {%- for name in batch_columns %}{% do quoted.append(adapter.quote(name)) %}{% endfor %}
        insert into {{ target_relation }} ({{ quoted | join(', ') }})
            select {{ quoted | join(', ') }} from {{ adapter.quote(staging_identifier) }};
        {#- Autovacuum would analyse the refilled partitions only later: the tests and marts that read them next
            would be planned for a partition of about one row. Analysed here, they see its rows (a transaction's
            own inserts count as live). #}
        {%- for month in months %}
            analyze {{ month_partition(this, month) }};
        {%- endfor %}
    {%- endcall %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#- The partition of `relation` that holds `month` (YYYY-MM-DD), schema-qualified and quoted. -#}
{% macro month_partition(relation, month) -%}
    {{ relation.schema }}.{{ adapter.quote(relation.identifier ~ '__p' ~ month[:7] | replace('-', '')) }}
{%- endmacro %}


{#-
    lock_up_front: take access exclusive locks on `relations` (a partitioned table: with its partitions)
    all at once, before the statements that need them, for the rest of the transaction.

    A lock a reader holds is waited for at most half the session's deadlock_timeout (and 500 ms), then
    everything this attempt took is given back (its subtransaction rolls back) and it tries again, for up to
    about ten minutes. So the pipeline never holds an exclusive lock while it waits for another one a reader
    has, and none of its waits here lasts until its own deadlock check: in a lock cycle with a reader,
    PostgreSQL can only ever pick the reader, whose check is the one that runs.
-#}
{% macro lock_up_front(relations, attempts=600) -%}
do $lock_up_front$
declare
    previous text := current_setting('lock_timeout');
    wait interval := least(interval '500 ms', current_setting('deadlock_timeout')::interval / 2);
begin
    for attempt in 1..{{ attempts }} loop
        begin
            perform set_config('lock_timeout', (extract(epoch from wait) * 1000)::int || 'ms', true);
            lock table {{ relations | join(', ') }} in access exclusive mode;
            perform set_config('lock_timeout', previous, true);
            return;
        exception when lock_not_available then
            perform pg_sleep(least(attempt, 10) * 0.1);
        end;
    end loop;
    raise lock_not_available using message = 'lock_up_front: {{ relations | join(', ') | replace("'", "''") }} stayed busy';
end
$lock_up_front$;
{%- endmacro %}
