"""A checksum over every row of every mart: what "the marts are identical" means after a rerun.

Columns that name the run which wrote a row (the rule run behind an official figure) differ between
identical reruns by design, so they are left out; every other column counts, in a fixed row order."""

from __future__ import annotations

from psycopg import Connection, sql

from include import config

VOLATILE = frozenset({"finding_rule_run_id"})  # ids of the gate run that wrote the row


def mart_checksums(conn: Connection, schema: str = config.SCHEMA_PUBLISHED) -> dict[str, tuple[int, str]]:
    """mart -> (rows, md5 of its rows in order), for every table of ``schema``."""
    tables = [
        name
        for (name,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE' "
            "order by table_name",
            [schema],
        ).fetchall()
    ]
    sums: dict[str, tuple[int, str]] = {}
    for table in tables:
        columns = [
            name
            for (name,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                "order by ordinal_position",
                [schema, table],
            ).fetchall()
            if name not in VOLATILE
        ]
        row = sql.SQL("row({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))
        found = conn.execute(
            sql.SQL(
                "select count(*), coalesce(md5(string_agg(r, E'\\n' order by r)), '') from (select {} r from {}) t"
            ).format(row, sql.Identifier(schema, table))
        ).fetchone()
        sums[table] = (int(found[0]), str(found[1])) if found else (0, "")
    return sums
