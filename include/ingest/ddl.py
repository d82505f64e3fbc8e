"""Raw tables and their ``_current`` views, derived from the feed contracts.

Run as the loader role. Idempotent: a contract that gains a column gains it in
raw too (``add column if not exists``); nothing is ever dropped here.
"""

from __future__ import annotations

from importlib import resources

from psycopg import Connection, sql

from include import config
from include.ingest.contract import Contract, Section, contracts
from include.ingest.counties import county_names

LINEAGE_TYPES = {
    "_load_id": "bigint not null",
    "_feed_month": "date not null",
    "_version": "integer not null",
    "_sheet": "text",
    "_row_number": "integer",
}
# What an auditor may read of a raw table: where each row came from, never its content.
AUDITOR_COLUMNS = (*LINEAGE_TYPES, "county_code")


def _ensure_table(conn: Connection, section: Section) -> None:
    table = sql.Identifier(config.SCHEMA_RAW, section.table)
    conn.execute(sql.SQL("create table if not exists {} (_load_id bigint not null)").format(table))
    for name in section.raw_columns():
        kind = LINEAGE_TYPES.get(name, "text")
        conn.execute(
            sql.SQL("alter table {} add column if not exists {} {}").format(table, sql.Identifier(name), sql.SQL(kind))
        )
    conn.execute(
        sql.SQL("create index if not exists {} on {} (_load_id)").format(
            sql.Identifier(section.table + "_by_load"), table
        )
    )
    # Months arrive in order, so a BRIN index lets a run read only its month's blocks
    # (staging filters on the month) for almost no cost at COPY time.
    conn.execute(
        sql.SQL("create index if not exists {} on {} using brin (_feed_month)").format(
            sql.Identifier(section.table + "_by_month"), table
        )
    )
    conn.execute(
        sql.SQL(
            "create or replace view {} as select * from {} where _load_id in "
            "(select load_id from ops.loads where is_current)"
        ).format(sql.Identifier(config.SCHEMA_RAW, section.table + "_current"), table)
    )
    lineage = sql.SQL(", ").join(sql.Identifier(c) for c in AUDITOR_COLUMNS if c in section.raw_columns())
    for relation in (section.table, section.table + "_current"):
        conn.execute(
            sql.SQL("grant select ({}) on {} to {}").format(
                lineage, sql.Identifier(config.SCHEMA_RAW, relation), sql.Identifier(config.ROLE_AUDITOR)
            )
        )


def ensure_contract_tables(conn: Connection, contract: Contract) -> None:
    """Create (or extend) the raw tables and ``_current`` views of one contract."""
    for section in contract.sections:
        _ensure_table(conn, section)


def ensure_raw_schema(conn: Connection) -> None:
    """Create ops bookkeeping tables, then every contract's raw tables and views."""
    conn.execute(resources.files("include.ingest").joinpath("schema.sql").read_text(encoding="utf-8"))
    for contract in contracts().values():
        ensure_contract_tables(conn, contract)
    ensure_completeness(conn)


def ensure_completeness(conn: Connection) -> None:
    """The feed registry (from the contracts), per-county row counts, and ``ops.feed_completeness``."""
    text = resources.files("include.ingest").joinpath("completeness.sql").read_text(encoding="utf-8")
    counties = sorted(code for code in county_names() if code != config.CITY_CODE)
    conn.execute(sql.SQL(text.replace("%(counties)s", "{counties}")).format(counties=sql.Literal(counties)))
    for contract in contracts().values():
        conn.execute(
            """insert into ops.feeds (feed, name_zh, department, department_zh, grain, deadline_day)
               values (%s, %s, %s, %s, %s, %s)
               on conflict (feed) do update set name_zh = excluded.name_zh, department = excluded.department,
                   department_zh = excluded.department_zh, grain = excluded.grain,
                   deadline_day = excluded.deadline_day""",
            [
                contract.feed,
                contract.name_zh,
                contract.department,
                contract.department_zh,
                contract.grain,
                contract.deadline_day,
            ],
        )
