"""A published mart's month as a CSV file a spreadsheet opens safely (``make export``).

UTF-8 with a byte-order mark (so Excel and WPS read the Chinese names), one header row (the column names,
or with ``chinese`` each column's Chinese name, taken from its comment), then the month's rows. A text cell
that a spreadsheet would take for a formula (``report_cells.formula_like``: it starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is written with a leading apostrophe, so it opens as the text it
is; numbers are written as numbers, ``-5`` included. Read as the BI role: only what ``marts`` publishes.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from psycopg import Connection, sql

from include import config
from include.report_cells import formula_like

_CHINESE_NAME = re.compile(r"^\s*(\S+?)(?:\s+—|\s|$)")  # a comment starts with the column's Chinese name


def cell(value: Any) -> str:
    """One CSV field: a formula-like text protected, a number or date as it is, null empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if formula_like(value) else value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _headers(conn: Connection, mart: str, chinese: bool) -> tuple[list[str], list[str]]:
    """The mart's columns in order, and the header written for each."""
    rows = conn.execute(
        """select attname, col_description(attrelid, attnum) from pg_attribute
           where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped order by attnum""",
        [f'"{config.SCHEMA_PUBLISHED}"."{mart}"'],
    ).fetchall()
    names = [name for name, _ in rows]
    if not chinese:
        return names, names
    found = [(m[1] if (m := _CHINESE_NAME.match(comment or "")) else name) for name, comment in rows]
    return names, [zh if found.count(zh) == 1 else f"{zh} ({name})" for name, zh in zip(names, found, strict=True)]


def export_csv(conn: Connection, mart: str, month: str | dt.date, path: Path, *, chinese: bool = False) -> int:
    """Write ``month`` of the published ``mart`` (``mart_`` prefix optional) to ``path``; returns the rows."""
    name = mart if mart.startswith("mart_") else f"mart_{mart}"
    start = month if isinstance(month, dt.date) else dt.date.fromisoformat(f"{month}-01")
    columns, headers = _headers(conn, name, chinese)
    if not columns:
        raise LookupError(f"{config.SCHEMA_PUBLISHED}.{name} is not a published mart")
    if "month_start" not in columns:
        raise LookupError(f"{config.SCHEMA_PUBLISHED}.{name} has no month_start column")
    order = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    query = sql.SQL("select {} from {} where month_start = %s order by {}").format(
        order, sql.Identifier(config.SCHEMA_PUBLISHED, name), order
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([cell(h) for h in headers])
        for row in conn.execute(query, [start]):
            writer.writerow([cell(value) for value in row])
            rows += 1
    return rows
