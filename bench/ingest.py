"""Ingestion against the physical limit: December's deliveries of every feed, at city scale.

For each delivery: ``load_delivery`` end to end (parse, contract checks, pseudonymisation, lineage, COPY),
then, on the same server in the same run, the baselines of the same rows:
- CSV: a plain ``COPY`` of the rows as they landed in ``raw`` (copied out as CSV first), and
  ``pandas.DataFrame.to_sql`` of those rows (a sample of at most ``TO_SQL_ROWS``: it is slow);
- xlsx: a bare calamine parse of the same sheets (cells to Python values, nothing else).
Run as ``python -m bench.ingest OUT.json`` with its own ``SQW_STATE_DIR`` (``bench/__main__`` does).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from include import config
from include.bootstrap import ensure_ready
from include.ingest.contract import contracts
from include.ingest.load import discover, load_delivery

MONTH = dt.date(2021, 12, 1)
TO_SQL_ROWS = 50_000


def _raw_rows_as_csv(conn: psycopg.Connection, table: str, load_id: int) -> tuple[bytes, list[str]]:
    columns = [
        name
        for (name,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
            "order by ordinal_position",
            [config.SCHEMA_RAW, table],
        ).fetchall()
    ]
    out = io.BytesIO()
    query = sql.SQL("copy (select {} from {} where _load_id = {}) to stdout (format csv)").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(config.SCHEMA_RAW, table), sql.Literal(load_id)
    )
    with conn.cursor().copy(query) as copy:
        for block in copy:
            out.write(block)
    return out.getvalue(), columns


def _plain_copy_seconds(conn: psycopg.Connection, table: str, data: bytes, columns: list[str]) -> float:
    bare = sql.Identifier(config.SCHEMA_RAW, f"bench_plain_{table}")
    conn.execute(sql.SQL("drop table if exists {}").format(bare))
    conn.execute(sql.SQL("create table {} (like {})").format(bare, sql.Identifier(config.SCHEMA_RAW, table)))
    conn.commit()
    started = time.perf_counter()
    with conn.cursor().copy(
        sql.SQL("copy {} ({}) from stdin (format csv)").format(bare, sql.SQL(", ").join(map(sql.Identifier, columns)))
    ) as copy:
        for start in range(0, len(data), 1 << 20):
            copy.write(data[start : start + (1 << 20)])
    conn.commit()
    spent = time.perf_counter() - started
    conn.execute(sql.SQL("drop table {}").format(bare))
    conn.commit()
    return spent


def _to_sql_rows_per_second(url: str, table: str, data: bytes, columns: list[str]) -> float:
    import pandas as pd  # noqa: PLC0415
    import sqlalchemy  # noqa: PLC0415

    frame = pd.read_csv(io.BytesIO(data), names=columns, header=None, nrows=TO_SQL_ROWS, dtype=str)
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"bench_to_sql_{table}"
    try:
        started = time.perf_counter()
        frame.to_sql(name, engine, schema=config.SCHEMA_RAW, if_exists="replace", index=False, chunksize=10_000)
        spent = time.perf_counter() - started
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'drop table "{config.SCHEMA_RAW}"."{name}"'))
    finally:
        engine.dispose()
    return len(frame) / spent


def _calamine_seconds(path: Path) -> tuple[float, int]:
    from python_calamine import CalamineWorkbook  # noqa: PLC0415

    started = time.perf_counter()
    workbook = CalamineWorkbook.from_path(str(path))
    cells = sum(len(row) for name in workbook.sheet_names for row in workbook.get_sheet_by_name(name).to_python())
    return time.perf_counter() - started, cells


def measure() -> list[dict[str, Any]]:
    server = ensure_ready()
    url = server.url("admin")
    results = []
    with psycopg.connect(url) as conn:
        for feed, contract in sorted(contracts().items()):
            for delivery in discover(contract, MONTH, config.LANDING_DIR):
                started = time.perf_counter()
                result = load_delivery(conn, delivery, run_id="bench", contract=contract)
                spent = time.perf_counter() - started
                rows = sum(result.rows.values())
                entry: dict[str, Any] = {
                    "feed": feed,
                    "files": delivery.name,
                    "format": delivery.paths[0].suffix.lstrip("."),
                    "status": result.status,
                    "rows": rows,
                    "ingest_s": round(spent, 3),
                    "ingest_rows_s": round(rows / spent),
                }
                if result.status == "loaded" and entry["format"] == "csv":
                    plain = to_sql = 0.0
                    largest = max(contract.sections, key=lambda section: result.rows.get(section.role, 0))
                    for section in contract.sections:
                        data, columns = _raw_rows_as_csv(conn, section.table, result.load_id or 0)
                        plain += _plain_copy_seconds(conn, section.table, data, columns)
                        if section is largest:
                            to_sql = _to_sql_rows_per_second(url, section.table, data, columns)
                    entry |= {"copy_rows_s": round(rows / plain), "to_sql_rows_s": round(to_sql)}
                    entry["vs_copy"] = round(entry["ingest_rows_s"] / entry["copy_rows_s"], 3)
                    entry["vs_to_sql"] = round(entry["ingest_rows_s"] / to_sql, 2)
                elif result.status == "loaded":
                    parse = sum(_calamine_seconds(path)[0] for path in delivery.paths)
                    entry |= {"calamine_rows_s": round(rows / parse), "vs_calamine": round(parse / spent, 3)}
                results.append(entry)
                print(f"  ingest {feed:<22} {entry['format']:<4} {rows:>8} rows {spent:6.2f} s", flush=True)
    return results


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(measure(), indent=1), encoding="utf-8")
