"""``make export``: a published mart's month as CSV, read back with the csv module as a spreadsheet would get it.

A probe mart with formula-like texts and negative numbers is published through the gate's own ``publish``
and exported by the CLI (as the BI role): every formula-like text comes back with one leading apostrophe,
every other text and every number exactly as published (-5 stays the number -5).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from include import config
from include.gate.gate import publish
from tests.gate_probe import ruleless_verdict

pytestmark = pytest.mark.integration
PROBE = "mart_zz_export_probe"
MONTH = dt.date(2020, 5, 1)
# label as published -> as the CSV must carry it (written out here, not computed by the code under test)
LABELS = {
    '=HYPERLINK("http://x","y")': '\'=HYPERLINK("http://x","y")',
    "+86 370 1234": "'+86 370 1234",
    "-5": "'-5",
    "@SUM(A1)": "'@SUM(A1)",
    "\t=1": "'\t=1",
    "\r=cmd|' /C calc'!A0": "'\r=cmd|' /C calc'!A0",
    "睢县 = 411422": "睢县 = 411422",
    "5-3": "5-3",
}
AMOUNTS = [-5, -1.5, 0, 12.25, -0.01, 3, 7, None]


@pytest.fixture
def probe(warehouse) -> Iterator[None]:
    admin = psycopg.connect(warehouse.url("admin"), autocommit=True)
    transformer = psycopg.connect(warehouse.url("transformer"), autocommit=True)
    names = [sql.Identifier(s, PROBE) for s in (config.SCHEMA_CANDIDATE, config.SCHEMA_PUBLISHED)]
    history = sql.Identifier(config.SCHEMA_DQ, PROBE + "__history")

    def drop() -> None:
        admin.execute(sql.SQL("drop table if exists {}, {}, {} cascade").format(*names, history))
        admin.execute(sql.SQL("drop function if exists {}").format(sql.Identifier(config.SCHEMA_DQ, PROBE + "_as_of")))

    drop()
    candidate = names[0]
    transformer.execute(
        sql.SQL(
            "create table {} (month_start date, county_code text, label text, amount numeric, households integer)"
        ).format(candidate)
    )
    for column, comment in {"month_start": "统计月份 — month", "label": "标签 a label", "amount": "金额（元）"}.items():
        transformer.execute(
            sql.SQL("comment on column {}.{} is {}").format(candidate, sql.Identifier(column), sql.Literal(comment))
        )
    rows = [(MONTH, "411422", label, amount, -i) for i, (label, amount) in enumerate(zip(LABELS, AMOUNTS, strict=True))]
    with transformer.cursor() as cursor:
        cursor.executemany(sql.SQL("insert into {} values (%s, %s, %s, %s, %s)").format(candidate), rows)
    assert PROBE in publish(transformer, ruleless_verdict(transformer, MONTH, "export probe"), "export probe").released
    yield
    drop()
    admin.close()
    transformer.close()


def test_export_protects_formula_like_text_and_keeps_numbers(probe, tmp_path, capsys) -> None:
    from include.cli import main

    out = tmp_path / "probe.csv"
    assert main(["export", "--mart", PROBE, "--month", f"{MONTH:%Y-%m}", "--out", str(out)]) == 0
    assert "(8 rows)" in capsys.readouterr().out
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "a byte-order mark, so Excel reads UTF-8"
    with out.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == ["month_start", "county_code", "label", "amount", "households"]
    by_households = {row[4]: row for row in rows}  # households is -i, unique per row
    assert len(rows) == len(LABELS)
    for i, (label, amount) in enumerate(zip(LABELS, AMOUNTS, strict=True)):
        expected = ["2020-05-01", "411422", LABELS[label], "" if amount is None else str(amount), str(-i)]
        assert by_households[str(-i)] == expected, label
    assert by_households["0"][3] == "-5" and by_households["-1"][3] == "-1.5", "a negative number stays a number"


def test_export_headers_in_chinese_and_only_published_marts(probe, tmp_path, warehouse) -> None:
    from include.export import export_csv

    with psycopg.connect(warehouse.url("bi")) as bi:
        out = tmp_path / "zh.csv"
        assert export_csv(bi, PROBE, f"{MONTH:%Y-%m}", out, chinese=True) == len(LABELS)
        with pytest.raises(LookupError):
            export_csv(bi, "mart_no_such_mart", "2020-05", tmp_path / "none.csv")
    with out.open(encoding="utf-8-sig", newline="") as handle:
        assert next(csv.reader(handle)) == ["统计月份", "county_code", "标签", "金额（元）", "households"]


def test_export_reads_as_bi_which_cannot_read_candidate(warehouse, tmp_path) -> None:
    """The CLI's role: the same function given a candidate table name finds nothing it may export."""
    from include.export import export_csv

    with psycopg.connect(warehouse.url("bi")) as bi:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("select * from candidate.mart_microcredit_league limit 1")
        bi.rollback()
        with pytest.raises(LookupError):
            export_csv(bi, "../candidate.mart_x", "2020-05", tmp_path / "x.csv")
