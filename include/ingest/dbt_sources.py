"""The dbt face of the feed contracts: each feed's sources YAML, generated, and a staging model for a sheet
that has none.

A feed's ``_<feed>__sources.yml`` is written from its contract (``make manifest`` runs ``sync`` before
dbt parses): one source table per sheet, with every raw column, its type, unit and accepted values, and
how staging names it. ``macros/contract_staging.sql`` holds, for every sheet, how staging takes each raw
column (name, cast, unit column), which the ``staged_columns`` macro renders (a macro, because dbt's unit
tests compile a model without the graph of sources). A sheet without a staging model gets one that takes
the contract's renames, written once: from then on it is the department's staging SQL, to edit when it
needs more than the renames. A test fails when a committed generated file differs from what the contracts
make (``tests/unit/test_contract_dbt.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from include import config
from include.files import write_if_changed
from include.ingest.contract import LINEAGE_COLUMNS, Column, Contract, Section, Staged, contracts

STAGING_DIR = config.DBT_PROJECT_DIR / "models" / "staging"
STAGING_MACRO = config.DBT_PROJECT_DIR / "macros" / "contract_staging.sql"
LINEAGE = {
    "_load_id": "The load (ops.loads) the row came in with.",
    "_feed_month": "The month the file reports (its name, or its month column).",
    "_version": "The file's version for its month: 1, then one more per resubmission.",
    "_sheet": "The sheet (or CSV file) the row was read from.",
    "_row_number": "The row's number in that sheet, as a spreadsheet shows it.",
}
PARTS = {
    "code": "the county code it names",
    "as_written": "the county as written",
    "key": "HMAC-SHA256 of the resident ID (never the ID itself)",
    "birth_year": "birth year read from the resident ID",
    "sex": "sex read from the resident ID",
    "region": "region (the first six digits) of the resident ID",
}


def sources_path(feed: str) -> Path:
    return STAGING_DIR / feed / f"_{feed}__sources.yml"


def _description(column: Column, raw: str) -> str:
    header = next(iter(column.aliases))
    part = raw.removeprefix(f"{column.name}_")
    if raw != column.name and part in PARTS:
        return f"{header}: {PARTS[part]}."
    if raw.endswith("__unit"):
        units = ", ".join(sorted({unit for unit in column.aliases.values() if unit}))
        return f"The unit {column.name} is in, from its header ({units})."
    values = f" One of {', '.join(column.values)}." if column.values else ""
    return f"{header} ({column.type}), text as delivered.{values}"


def _meta(column: Column, staged: dict[str, Staged], raw: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"contract_type": column.type}
    if column.values and raw == column.name:
        meta["accepted_values"] = list(column.values)
    if raw in staged:  # how staging casts it is in contract_staging, the one copy the models read
        meta["staged_as"] = staged[raw].name
    return meta


def _table(contract: Contract, section: Section) -> dict[str, Any]:
    staged = {column.raw: column for column in section.staged()}
    if section.role == "detail":
        described = f"Each row: {contract.grain} (sheet {section.sheet}), text as delivered."
    else:
        described = (
            f"One row per county and month plus the 商丘市 row (sheet {section.sheet}), as the department declared it."
        )
    columns = [
        {"name": raw, "description": _description(column, raw), "config": {"meta": _meta(column, staged, raw)}}
        for column in section.columns
        for raw in column.raw_columns()
    ]
    columns += [{"name": name, "description": LINEAGE[name]} for name in LINEAGE_COLUMNS]
    return {"name": f"{section.table}_current", "description": described, "columns": columns}


def sources_yaml(contract: Contract) -> str:
    """The feed's sources YAML, as its contract makes it."""
    source = {
        "name": contract.feed,
        "description": (
            f"{contract.name_zh} from the {contract.department_zh} (include/contracts/{contract.feed}.yml), loaded by"
            " the ingestion DAG. The `_current` views hold only the current (latest loaded) version of each month."
        ),
        "schema": config.SCHEMA_RAW,
        "tables": [_table(contract, section) for section in contract.sections],
    }
    head = (
        f"# Generated from include/contracts/{contract.feed}.yml by include/ingest/dbt_sources.py (make manifest).\n"
        "# Edit the contract, not this file.\n"
    )
    body = yaml.safe_dump({"version": 2, "sources": [source]}, allow_unicode=True, sort_keys=False, width=120)
    return head + body


def staging_macro(found: dict[str, Contract]) -> str:
    """The ``contract_staging`` macro: for each sheet's source table, [raw, staged name, cast, unit column]
    ("" where a column has no cast or no unit)."""
    tables = {
        f"{section.table}_current": [[c.raw, c.name, c.cast or "", c.unit or ""] for c in section.staged()]
        for contract in found.values()
        for section in contract.sections
    }
    lines = ",\n".join(
        f"    {json.dumps(name)}: {json.dumps(columns, ensure_ascii=False)}" for name, columns in tables.items()
    )
    return (
        "{#- Generated from include/contracts/*.yml by include/ingest/dbt_sources.py (make manifest): edit the\n"
        "    contracts, not this file. How staging takes each column of a raw feed table:\n"
        "    [raw column, staged name, cast, unit column]. -#}\n"
        "{% macro contract_staging(table_name) -%}\n"
        "{%- set tables = {\n" + lines + "\n} -%}\n"
        "{{ return(tables[table_name]) }}\n"
        "{%- endmacro %}\n"
    )


def staging_model(feed: str, section: Section) -> Path | None:
    """The staging model that reads a sheet's source table, if one exists."""
    called = f"source('{feed}', '{section.table}_current')"
    found = [
        path for path in sorted((STAGING_DIR / feed).glob("stg_*.sql")) if called in path.read_text(encoding="utf-8")
    ]
    return found[0] if found else None


def staging_sql(feed: str, section: Section) -> str:
    """A staging model that takes the contract's renames: the two CTEs, ``source`` then ``renamed``."""
    return f"""-- Written once from include/contracts/{feed}.yml by dbt_sources.sync: the department's own now.
with

source as (

    select * from {{{{ source('{feed}', '{section.table}_current') }}}}

),

renamed as (

    select
        _load_id || '-' || _row_number as row_id,
        {{{{ staged_columns('{feed}', '{section.table}_current') }}}}

    from source

)

select * from renamed
"""


def _entity(feed: str, section: Section) -> str:
    return "control_totals" if section.role == "control_totals" else section.table.removeprefix(f"{feed}_")


def sync() -> list[Path]:
    """Write every feed's sources YAML, and a staging model for each sheet without one; the files written."""
    written = [STAGING_MACRO] if write_if_changed(STAGING_MACRO, staging_macro(contracts())) else []
    for feed, contract in contracts().items():
        if write_if_changed(sources_path(feed), sources_yaml(contract)):
            written.append(sources_path(feed))
        for section in contract.sections:
            if staging_model(feed, section) is None:
                path = STAGING_DIR / feed / f"stg_{feed}__{_entity(feed, section)}.sql"
                write_if_changed(path, staging_sql(feed, section))
                written.append(path)
    return written
