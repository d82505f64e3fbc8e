{#- Append-only: a run adds the person keys first seen in its month's staging; it never rereads
    history. To add a feed, add one line to `sources`. -#}
{%- set sources = [
    {'model': 'stg_employment__workers', 'key': 'person_key', 'prefix': 'person'},
    {'model': 'stg_early_warning__warnings', 'key': 'person_key', 'prefix': 'person'},
    {'model': 'stg_monitored_households__households', 'key': 'household_key', 'prefix': 'head'},
    {'model': 'stg_microcredit__loans', 'key': 'borrower_key', 'prefix': 'borrower'},
] -%}

{{ first_seen_keys(sources, 'person_key') }}
