{#- The columns a staging model takes from a raw feed table, as the feed's contract stages them: the
    file's month, each staged column renamed and typed (the generated sources YAML carries how, in each
    column's meta: include/ingest/dbt_sources.py), then the row's lineage. -#}
{% macro staged_columns(source_name, table_name) -%}
    _feed_month as month_start,
    {%- if execute %}
        {%- set table = graph.sources['source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name] %}
        {%- for column in table.columns.values() if column.config.meta.staged_as %}
            {%- set meta = column.config.meta %}
            {%- if meta.unit_column %}
                {%- set typed = to_base_unit(column.name, meta.unit_column) %}
            {%- elif meta.cast %}
                {%- set typed = column.name ~ '::' ~ meta.cast %}
            {%- else %}
                {%- set typed = column.name %}
            {%- endif %}
        {{ typed }}{% if typed != meta.staged_as %} as {{ meta.staged_as }}{% endif %},
        {%- endfor %}
    {%- endif %}
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row
{%- endmacro %}
