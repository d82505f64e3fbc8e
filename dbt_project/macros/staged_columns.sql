{#- The columns a staging model takes from a raw feed table, as the feed's contract stages them: the
    file's month, each staged column renamed and typed (contract_staging, generated from the contracts),
    then the row's lineage. -#}
{% macro staged_columns(source_name, table_name) -%}
    _feed_month as month_start,
    {%- for raw, name, cast, unit in contract_staging(table_name) %}
        {%- if unit %}
            {%- set typed = to_base_unit(raw, unit) %}
        {%- elif cast %}
            {%- set typed = raw ~ '::' ~ cast %}
        {%- else %}
            {%- set typed = raw %}
        {%- endif %}
        {{ typed }}{% if typed != name %} as {{ name }}{% endif %},
    {%- endfor %}
        _load_id as load_id,
        _version as file_version,
        _sheet as source_sheet,
        _row_number as source_row
{%- endmacro %}
