{#- Append-only: a run adds the household keys first seen in its month's staging; it never rereads
    history. A household is keyed by its head's (or borrower's) resident ID. To add a feed, add one
    line to `sources`. -#}
{%- set sources = [
    {'model': 'stg_monitored_households__households', 'key': 'household_key', 'prefix': 'head'},
    {'model': 'stg_microcredit__loans', 'key': 'borrower_key', 'prefix': 'borrower'},
] -%}

{{ first_seen_keys(sources, 'household_key', attribute_prefix='head_') }}
