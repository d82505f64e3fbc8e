"""The malformed-file corpus: every delivery gets exactly the findings tests/corpus/expected.yml lists.

Each delivery is loaded into the embedded warehouse as the test feed, in the order of
expected.yml (the clean workbook first). Besides the findings, each test checks the load's
status, the rows loaded, spot values, and that nothing else in the warehouse changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
EXPECTED = yaml.safe_load((CORPUS / "expected.yml").read_text(encoding="utf-8"))
MONTH: dt.date = EXPECTED["month"]
CASES = list(EXPECTED["deliveries"])
FIELDS = ("rule", "severity", "sheet", "row", "column", "expected")
ID_PATTERN = r"(^|[^0-9A-Za-z])[0-9]{17}[0-9Xx]([^0-9A-Za-z]|$)"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def deliveries(contract: Any) -> dict[str, Any]:
    """The corpus as ``discover`` groups it, by case name."""
    from include.ingest.load import discover

    by_files = {tuple(spec["files"]): case for case, spec in EXPECTED["deliveries"].items()}
    found = discover(contract, MONTH, CORPUS)
    return {by_files.get(tuple(path.name for path in d.paths), d.name): d for d in found}


def test_discover_groups_the_corpus_exactly_as_expected_yml_lists_it(deliveries):
    assert sorted(deliveries) == sorted(CASES)
    assert len(CASES) >= 25


def assert_findings(found: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Exactly the expected findings, in order; ``found`` compared whole or by a stable part."""
    assert len(found) == len(expected), "\n".join(str(f) for f in found)
    for got, want in zip(found, expected, strict=True):
        assert {k: got[k] for k in FIELDS} == {k: want[k] for k in FIELDS}, got
        if "found" in want:
            assert got["found"] == want["found"]
        else:
            assert want["found_contains"] in got["found"], got["found"]


def recorded_findings(conn: psycopg.Connection, load_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        """select rule, severity, sheet, row_number, column_name, expected, found
           from ops.findings where load_id = %s order by finding_id""",
        [load_id],
    ).fetchall()
    return [
        dict(zip(("rule", "severity", "sheet", "row", "column", "expected", "found"), r, strict=True)) for r in rows
    ]


def raw_value(conn: psycopg.Connection, table: str, load_id: int, *, sheet: str, row: int, column: str) -> object:
    found = conn.execute(
        sql.SQL("select {} from {} where _load_id = %s and _sheet = %s and _row_number = %s").format(
            sql.Identifier(column), sql.Identifier("raw", table)
        ),
        [load_id, sheet, row],
    ).fetchall()
    assert len(found) == 1, f"{table} row {row}: {len(found)} rows"
    return found[0][0]


@pytest.mark.parametrize("case", CASES)
def test_corpus_delivery(case, deliveries, contract, loader, snapshot: Callable[[], Any]):
    from include import config
    from include.ingest.load import load_delivery

    spec = EXPECTED["deliveries"][case]
    delivery = deliveries[case]
    tables = {s.role: s.table for s in contract.sections}
    before = snapshot()

    result = load_delivery(loader, delivery, run_id=f"corpus-{case}", contract=contract)
    after = snapshot()

    as_dicts = [{k: getattr(f, k) for k in (*FIELDS, "found")} for f in result.findings]
    assert_findings(as_dicts, spec["findings"])
    assert_findings(recorded_findings(loader, result.load_id), spec["findings"])
    status, is_current, encoding, detail, control = loader.execute(
        "select status, is_current, encoding, detail_rows, control_rows from ops.loads where load_id = %s",
        [result.load_id],
    ).fetchone()
    assert (result.status, status) == (spec["status"], spec["status"])
    assert after.loads == before.loads + 1
    if "encoding" in spec:
        assert encoding == spec["encoding"]

    if spec["status"] == "quarantined":
        assert after.tables == before.tables, "a quarantined delivery changed raw"
        assert after.current == before.current, "a quarantined delivery changed what is current"
        assert not is_current and (detail, control) == (0, 0)
        folder = config.QUARANTINE_DIR / contract.feed / MONTH.strftime("%Y-%m")
        for path in delivery.paths:
            assert (folder / path.name).read_bytes() == path.read_bytes()
        return

    rows = spec["rows"]
    assert result.rows == rows and (detail, control) == (rows["detail"], rows["control_totals"])
    changed = {tables[role]: count for role, count in rows.items()}
    assert after.tables == {name: count + changed.get(name, 0) for name, count in before.tables.items()}
    replaced = {c for c in before.current if (c[1], c[2]) == (contract.feed, MONTH.isoformat())}
    assert after.current == (before.current - replaced) | {(result.load_id, contract.feed, MONTH.isoformat())}
    by_sheet = {s.sheet: s.table for s in contract.sections}
    for check in spec.get("values", []):
        table = by_sheet[check["sheet"]]
        value = raw_value(loader, table, result.load_id, sheet=check["sheet"], row=check["row"], column=check["column"])
        assert value == check["value"], check


def test_no_clear_text_resident_id_anywhere_after_the_corpus(deliveries, contract, loader, connect):
    """Every corpus delivery loaded (again: re-loads are idempotent), then every text column searched."""
    from include.ingest.load import load_delivery
    from tests.corpus.make_corpus import IDS

    for delivery in deliveries.values():
        load_delivery(loader, delivery, run_id="corpus-scan", contract=contract)
    admin = connect("admin")
    columns = admin.execute(
        """select table_schema, table_name, column_name from information_schema.columns
           where table_schema in ('raw', 'ops', 'staging', 'core', 'candidate', 'marts', 'dq', 'gate')
             and data_type in ('text', 'character varying', 'jsonb')"""
    ).fetchall()
    assert any(schema == "raw" and table == "ingest_test_loans" for schema, table, _ in columns)
    leaks = []
    for schema, table, column in columns:
        target, field = sql.Identifier(schema, table), sql.Identifier(column)
        shaped = admin.execute(
            sql.SQL("select count(*) from {} where {}::text ~ %s").format(target, field), [ID_PATTERN]
        ).fetchone()[0]
        known = admin.execute(
            sql.SQL("select count(*) from {} where {}::text like any(%s)").format(target, field),
            [[f"%{value}%" for value in IDS] + [f"%{value[:17]}%" for value in IDS]],
        ).fetchone()[0]
        if shaped or known:
            leaks.append(f"{schema}.{table}.{column}: {shaped} ID-shaped, {known} corpus IDs")
    assert not leaks, leaks
