"""A checksum over every row of every mart: what "the marts are identical" means after a rerun.

Columns that name the run which wrote a row (the rule run behind an official figure) differ between
identical reruns by design, so they are left out; every other column counts, in a fixed row order."""

from __future__ import annotations

import datetime as dt

from psycopg import Connection, sql

from include import config

VOLATILE = frozenset({"finding_rule_run_id"})  # ids of the gate run that wrote the row


def columns_of(conn: Connection, schema: str, table: str) -> list[str]:
    """The table's columns in order, without the run-id ones."""
    found = conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [name for (name,) in found if name not in VOLATILE]


def table_checksum(
    conn: Connection,
    schema: str,
    table: str,
    month: dt.date | None = None,
    *,
    columns: list[str] | None = None,
    where: sql.Composable | None = None,
) -> tuple[int, str]:
    """(rows, md5 of the rows in order) of one table, or of its ``month`` (``month_start``) only; ``columns``
    (default: all but the run-id ones) and a further ``where`` choose what counts."""
    columns = columns or columns_of(conn, schema, table)
    row = sql.SQL("row({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    where = where or sql.SQL("true")
    if month:
        where = sql.SQL("{} and month_start = %s").format(where)
    found = conn.execute(
        sql.SQL(
            "select count(*), coalesce(md5(string_agg(r, E'\\n' order by r)), '') from (select {} r from {} where {}) t"
        ).format(row, sql.Identifier(schema, table), where),
        [month] if month else [],
    ).fetchone()
    return (int(found[0]), str(found[1])) if found else (0, "")


def mart_checksums(conn: Connection, schema: str = config.SCHEMA_PUBLISHED) -> dict[str, tuple[int, str]]:
    """mart -> (rows, md5 of its rows in order), for every table of ``schema``."""
    tables = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE' "
        "order by table_name",
        [schema],
    ).fetchall()
    return {table: table_checksum(conn, schema, table) for (table,) in tables}
