"""Restatements, idempotent re-loads and atomicity, on the test feed (February and March 2022).

Re-loading identical content replaces that version's rows under the same version number;
different content becomes version N+1 and the current one, older versions stay in raw; a
quarantined resubmission leaves the previous version current; and a load that fails half-way
leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil

import psycopg
import pytest
from psycopg import sql

from tests.corpus import make_corpus as corpus

FEBRUARY = dt.date(2022, 2, 1)
MARCH = dt.date(2022, 3, 1)
pytestmark = pytest.mark.integration


def loads(conn: psycopg.Connection, month: dt.date) -> list[tuple]:
    return conn.execute(
        """select version, status, is_current, detail_rows, control_rows, file_name from ops.loads
           where feed = 'ingest_test' and feed_month = %s order by version""",
        [month],
    ).fetchall()


def raw_rows(conn: psycopg.Connection, table: str, load_id: int) -> int:
    query = sql.SQL("select count(*) from {} where _load_id = %s").format(sql.Identifier("raw", table))
    return conn.execute(query, [load_id]).fetchone()[0]


def findings_of(conn: psycopg.Connection, load_id: int) -> list[str]:
    return [r for (r,) in conn.execute("select rule from ops.findings where load_id = %s", [load_id]).fetchall()]


def delivery(contract, landing, month, *names):  # type: ignore[no-untyped-def]
    from include.ingest.load import discover

    found = [d for d in discover(contract, month, landing) if {p.name for p in d.paths} == set(names)]
    assert len(found) == 1, [d.name for d in discover(contract, month, landing)]
    return found[0]


def test_reload_restatement_and_quarantine_keep_versions_straight(tmp_path, contract, loader):
    from include.ingest.load import load_delivery

    landing = tmp_path / "landing"
    folder = landing / contract.feed
    first = folder / corpus.name("v1", month=FEBRUARY)
    rows = corpus.detail_rows(FEBRUARY)
    header = [*corpus.DETAIL_HEADER, "备注"]  # an unknown header: every version has a finding
    corpus.standard(first, [[corpus.title("明细表", FEBRUARY)], header, *rows], corpus.totals_sheet(month=FEBRUARY))

    one = load_delivery(loader, delivery(contract, landing, FEBRUARY, first.name), contract=contract)
    assert (one.version, one.status) == (1, "loaded")
    assert raw_rows(loader, "ingest_test_loans", one.load_id) == 3
    assert findings_of(loader, one.load_id) == ["unknown_header"]

    # The same bytes again, under another name: the same version, its rows replaced, not doubled.
    again = folder / corpus.name("v1_resent", month=FEBRUARY)
    shutil.copy(first, again)
    first.unlink()
    same = load_delivery(loader, delivery(contract, landing, FEBRUARY, again.name), contract=contract)
    assert (same.load_id, same.version) == (one.load_id, 1)
    assert raw_rows(loader, "ingest_test_loans", one.load_id) == 3
    assert findings_of(loader, one.load_id) == ["unknown_header"]
    assert loads(loader, FEBRUARY) == [(1, "loaded", True, 3, 3, again.name)]

    # Corrected content: version 2, current; version 1 stays in raw.
    corrected = folder / corpus.name("v2", month=FEBRUARY)
    rows[0][10] = 3.4
    rows.append([*rows[1][:3], corpus.IDS[3], *rows[1][4:5], "41140200000099", *rows[1][6:]])
    corpus.standard(corrected, [[corpus.title("明细表", FEBRUARY)], header, *rows], corpus.totals_sheet(month=FEBRUARY))
    os.utime(corrected, (again.stat().st_mtime + 60,) * 2)
    two = load_delivery(loader, delivery(contract, landing, FEBRUARY, corrected.name), contract=contract)
    assert (two.version, two.status) == (2, "loaded")
    assert loads(loader, FEBRUARY) == [
        (1, "loaded", False, 3, 3, again.name),
        (2, "loaded", True, 4, 3, corrected.name),
    ]
    assert raw_rows(loader, "ingest_test_loans", one.load_id) == 3
    assert raw_rows(loader, "ingest_test_loans", two.load_id) == 4
    current = loader.execute(
        "select distinct _load_id, _version from raw.ingest_test_loans_current where _feed_month = %s", [FEBRUARY]
    ).fetchall()
    assert current == [(two.load_id, 2)]
    assert findings_of(loader, two.load_id) == ["unknown_header"]

    # A resubmission that cannot be loaded: version 3, quarantined; version 2 stays current.
    wrong = folder / corpus.name("v3", month=FEBRUARY)
    corpus.standard(wrong, corpus.detail_sheet(corpus.detail_rows(FEBRUARY), month=corpus.MONTH))
    three = load_delivery(loader, delivery(contract, landing, FEBRUARY, wrong.name), contract=contract)
    assert (three.version, three.status) == (3, "quarantined")
    assert [row[:3] for row in loads(loader, FEBRUARY)] == [
        (1, "loaded", False),
        (2, "loaded", True),
        (3, "quarantined", False),
    ]
    assert raw_rows(loader, "ingest_test_loans", three.load_id) == 0
    assert "month_mismatch" in findings_of(loader, three.load_id)

    # The department re-sends version 1: it is current again, still version 1.
    back = load_delivery(loader, delivery(contract, landing, FEBRUARY, again.name), contract=contract)
    assert (back.load_id, back.version) == (one.load_id, 1)
    assert [row[:3] for row in loads(loader, FEBRUARY)] == [
        (1, "loaded", True),
        (2, "loaded", False),
        (3, "quarantined", False),
    ]
    assert raw_rows(loader, "ingest_test_loans", two.load_id) == 4


def test_a_load_that_fails_half_way_leaves_nothing_behind(tmp_path, contract, loader, snapshot, monkeypatch):
    from include.ingest import load

    landing = tmp_path / "landing"
    good = landing / contract.feed / corpus.name("good", month=MARCH)
    corpus.standard(good, corpus.detail_sheet(month=MARCH), corpus.totals_sheet(month=MARCH))
    first = load.load_delivery(loader, delivery(contract, landing, MARCH, good.name), contract=contract)
    assert first.status == "loaded"

    restated = landing / contract.feed / corpus.name("restated", month=MARCH)
    rows = corpus.detail_rows(MARCH)
    rows[2][9] = 2.5
    corpus.standard(restated, corpus.detail_sheet(rows, month=MARCH), corpus.totals_sheet(month=MARCH))
    real_copy = load.copy_into

    @contextlib.contextmanager
    def copy_then_fail(conn, section, lineage):  # type: ignore[no-untyped-def]
        if section.role == "control_totals":  # the detail rows are already copied by now
            raise RuntimeError("connection lost")
        with real_copy(conn, section, lineage) as write:
            yield write

    monkeypatch.setattr(load, "copy_into", copy_then_fail)
    before = snapshot()
    with pytest.raises(RuntimeError, match="connection lost"):
        load.load_delivery(loader, delivery(contract, landing, MARCH, restated.name), contract=contract)
    assert snapshot() == before
    assert [row[:3] for row in loads(loader, MARCH)] == [(1, "loaded", True)]


def test_a_csv_pair_and_a_workbook_of_the_same_stem_are_two_deliveries(tmp_path, contract):
    from include.ingest.load import discover

    folder = tmp_path / contract.feed
    stem = corpus.name("both", "", month=MARCH)
    corpus.csv_pair(folder, stem, "a", "b")
    (folder / f"{stem}.xlsx").write_bytes(b"x")
    (folder / corpus.name("other", ".csv", month=FEBRUARY)).write_bytes(b"c")
    (folder / "readme.txt").write_bytes(b"d")
    found = discover(contract, MARCH, tmp_path)
    assert sorted(tuple(p.name for p in d.paths) for d in found) == [
        (f"{stem}.xlsx",),
        (f"{stem}_明细.csv", f"{stem}_汇总.csv"),
    ]
