"""Fixtures of the ingestion tests: the test feed's contract and raw tables, and a loader connection.

The test feed ``ingest_test`` (contracts/ingest_test.yml) has tables of its own, so these tests
never touch what the pipeline and the end-to-end tests read. Its tables are created here, the
way ``ensure_raw_schema`` creates a real contract's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "corpus"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "benchmark: measures throughput on this machine; asserts only a ratio")


@pytest.fixture(scope="session")
def contract() -> Any:
    from include.ingest.contract import parse

    return parse(HERE / "contracts" / "ingest_test.yml")


@pytest.fixture(scope="session")
def loader(warehouse: Any, contract: Any) -> Iterator[psycopg.Connection]:
    """A connection as the loader role (autocommit: ``load_delivery`` runs its own transaction)."""
    from include.ingest.ddl import ensure_contract_tables

    conn = psycopg.connect(warehouse.url("loader"), autocommit=True)
    ensure_contract_tables(conn, contract)
    yield conn
    conn.close()


@dataclass(frozen=True)
class Snapshot:
    """What a load may change: row counts of every raw table, the current loads, the load rows."""

    tables: dict[str, int]
    current: frozenset[tuple[int, str, str]]
    loads: int


@pytest.fixture(scope="session")
def snapshot(loader: psycopg.Connection) -> Callable[[], Snapshot]:
    def take() -> Snapshot:
        names = [
            name
            for (name,) in loader.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw' and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        tables = {
            name: loader.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("raw", name))).fetchone()[0]  # type: ignore[index]
            for name in names
        }
        current = frozenset(
            (load_id, feed, month.isoformat())
            for load_id, feed, month in loader.execute(
                "select load_id, feed, feed_month from ops.loads where is_current"
            ).fetchall()
        )
        (loads,) = loader.execute("select count(*) from ops.loads").fetchone()  # type: ignore[misc]
        return Snapshot(tables, current, loads)

    return take
