"""A delivery whose file name, sheet names, headers and cells are SQL is loaded as data, and only as data.

The static proof (tests/test_sql_composition.py) shows no text from outside the code reaches SQL; this one
loads such texts through ``load_delivery`` into the real warehouse: every table and row is still there,
nothing changed but the load's own rows, and each hostile text is stored verbatim where it is recorded
(raw cells, ``ops.findings`` column and found, ``ops.loads`` file name), resident IDs redacted.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.corpus import make_corpus as corpus

MONTH = dt.date(2023, 8, 1)  # a month no other test loads
WITHHELD = "<ID withheld>"  # what the loader stores instead of a resident ID (written here, not imported)
DROP = '"; drop table raw.ingest_test_loans; --'
DELETE = "'); delete from ops.loads; --"
SHEET = "明细'--"
CELLS = [  # township, village, bank of the three rows
    (DELETE, DROP, "$$; drop schema raw cascade; $$"),
    (SHEET, "\\.", "\\'; truncate ops.findings; --"),  # \. ends COPY's text format
    ("x' or '1'='1", "e'\\x27; select pg_sleep(10); --", "%(month)s %s {} {0}"),
]
HEADERS = [DROP, DELETE]
AMOUNT = "1); update ops.loads set is_current = false; --"
pytestmark = pytest.mark.integration


def _catalog(conn: psycopg.Connection) -> dict[tuple[str, str], int]:
    """Every table of the warehouse's schemas and its row count (read as admin)."""
    tables = conn.execute(
        """select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
             and n.nspname not like 'pg_toast%%' order by 1, 2"""
    ).fetchall()
    count = sql.SQL("select count(*) from {}")
    return {(s, t): conn.execute(count.format(sql.Identifier(s, t))).fetchone()[0] for s, t in tables}  # type: ignore[index]


def _findings(conn: psycopg.Connection, load_id: int) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select rule, sheet, column_name, found, file_name from ops.findings where load_id = %s order by finding_id",
        [load_id],
    ).fetchall()


def test_sql_in_names_headers_and_cells_is_stored_as_data(tmp_path, contract, loader, snapshot, connect) -> None:
    from include.ingest.load import discover, load_delivery

    folder = tmp_path / "landing" / contract.feed
    loadable = corpus.name(f"{DELETE}_{DROP}_{corpus.IDS[4]}", month=MONTH)
    rows = corpus.detail_rows(MONTH)
    for row, (township, village, bank) in zip(rows, CELLS, strict=True):
        row[1], row[2], row[6] = township, village, bank
    rows[2][9] = AMOUNT  # 贷款金额: not a number, so that row is rejected with the text as found
    header = [*corpus.DETAIL_HEADER, *HEADERS]
    unique = uuid.uuid4().hex  # in the ignored columns: each run is new content, a new version of the month
    rows = [[*row, unique, "y"] for row in rows]
    corpus.xlsx(
        folder / loadable,
        [
            ("明细", [[corpus.title("明细表", MONTH)], header, *rows]),
            ("汇总", corpus.totals_sheet(month=MONTH)),
            (SHEET, [["备用"]]),
        ],
    )
    quarantined = corpus.name(f"{SHEET}_{DROP}", month=MONTH)
    sheets = [(SHEET, corpus.detail_sheet(month=MONTH)), ("汇总", corpus.totals_sheet(month=MONTH))]
    sheets.append(("备用", [[unique]]))
    corpus.xlsx(folder / quarantined, sheets)
    deliveries = {d.paths[0].name: d for d in discover(contract, MONTH, tmp_path / "landing")}
    assert set(deliveries) == {loadable, quarantined}, "a hostile file name must still be discovered"

    admin = connect("admin")
    before, counted = snapshot(), _catalog(admin)
    loaded = load_delivery(loader, deliveries[loadable], run_id=DELETE, contract=contract)
    held = load_delivery(loader, deliveries[quarantined], run_id=DROP, contract=contract)
    after, recounted = snapshot(), _catalog(admin)

    # Every table is still there, and only the loads' own rows were added.
    assert (loaded.status, held.status) == ("loaded", "quarantined")
    assert set(recounted) == set(counted)
    grown = {
        ("raw", "ingest_test_loans"): 2,
        ("raw", "ingest_test_control_totals"): 3,
        ("ops", "loads"): 2,
        ("ops", "findings"): len(loaded.findings) + len(held.findings),
        ("ops", "load_counties"): 2,  # two counties among the two accepted rows
    }
    changed = {key: recounted[key] - counted[key] for key in recounted if recounted[key] != counted[key]}
    assert changed == grown
    assert after.loads == before.loads + 2
    earlier = {c for c in before.current if c[1:] == (contract.feed, MONTH.isoformat())}  # a rerun's
    assert after.current == (before.current - earlier) | {(loaded.load_id, contract.feed, MONTH.isoformat())}

    # The cells, verbatim, in the raw rows they came from.
    stored = loader.execute(
        """select _row_number, township, village, bank, run_id from raw.ingest_test_loans
           join ops.loads on load_id = _load_id where _load_id = %s order by _row_number""",
        [loaded.load_id],
    ).fetchall()
    assert stored == [(3, *CELLS[0], DELETE), (4, *CELLS[1], DELETE)]

    # Headers, sheet names and file names, verbatim where they are recorded (the ID in the name withheld).
    findings = _findings(loader, loaded.load_id)
    unknown = [(column, found) for rule, _, column, found, _ in findings if rule == "unknown_header"]
    assert [column for column, _ in unknown] == HEADERS
    assert all(column in found for column, found in unknown)
    bad = [(sheet, found) for rule, sheet, _, found, _ in findings if rule == "bad_amount"]
    assert len(bad) == 1 and bad[0][0] == "明细" and AMOUNT in bad[0][1], findings
    assert {name for *_, name in findings} == {loadable.replace(corpus.IDS[4], WITHHELD)}
    (file_name,) = loader.execute("select file_name from ops.loads where load_id = %s", [loaded.load_id]).fetchone()
    assert file_name == loadable.replace(corpus.IDS[4], WITHHELD) and corpus.IDS[4] not in file_name

    [(rule, sheet, _, found, name)] = _findings(loader, held.load_id)
    assert (rule, sheet, name) == ("missing_sheet", "明细", quarantined)
    assert SHEET in found, found
