"""make explain on December 2021 microcredit, run through the real DAG, read as the auditor role.

The figure explained is 睢县's 目前总贷款余额户数 (balance_households) in the published league table:
the explanation must recompute it from core.fct_loans, name the file it came from by content hash,
give the rows of the sheet, and list the rules the publishing run checked it with.
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from include import config
from include.explain import explain, load_manifest, render, upstream
from include.gate.rule_schema import all_rules, parse

DECEMBER = dt.date(2021, 12, 1)
SUIXIAN = "411422"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def published(december_published) -> None:
    """December published by a real DAG run (tests/conftest.py)."""


def test_explains_a_county_figure_from_fact_rows_to_file_and_rules(published, connect):
    result = explain(connect("auditor"), "microcredit_league", "睢县", "2021-12", "balance_households")
    text = render(result)

    admin = connect("admin")
    (value,) = admin.execute(
        "select balance_households from marts.mart_microcredit_league where month_start = %s and county_code = %s",
        [DECEMBER, SUIXIAN],
    ).fetchone()
    assert result.value == value and f"balance_households = {value}" in text
    assert result.recomputed == value and result.matches is True
    assert f"复算 recomputed = {value}  ✓ 一致" in text

    file_name, sha256 = admin.execute(
        "select file_name, file_sha256 from ops.loads where feed = 'microcredit' and feed_month = %s and is_current",
        [DECEMBER],
    ).fetchone()
    assert file_name in text and f"sha256 {sha256}" in text
    first, last, rows = admin.execute(
        """select min(source_row), max(source_row), count(*) from staging.stg_microcredit__loans
           where month_start = %s and county_code = %s""",
        [DECEMBER, SUIXIAN],
    ).fetchone()
    assert f"sheet 明细  rows {first}–{last}: {rows} 行 rows" in text
    assert f"raw.microcredit_loans_current ({rows} 行 rows)" in text

    run_rules = dict(
        admin.execute(
            """select rule_id, status from dq.rule_runs where month_start = %s and run_id =
                   (select run_id from dq.publications where month_start = %s and status = 'published'
                    order by publication_id desc limit 1)""",
            [DECEMBER, DECEMBER],
        ).fetchall()
    )
    microcredit_rules = {rule.id for rule in parse(config.RULES_DIR / "microcredit.yml")}
    assert microcredit_rules <= {r["rule_id"] for r in result.rules}
    for rule_id in microcredit_rules:
        status = run_rules[rule_id]
        assert any(line.split()[1:2] == [status] and rule_id in line for line in text.splitlines()), rule_id
    lineage = {"mart_microcredit_league"} | {
        n.name for n in upstream(load_manifest(), "model.shangqiu.mart_microcredit_league")
    }
    rules = {rule.id: rule for rule in all_rules()}  # and the dbt tests, by the model they test
    checked = [rules[r["rule_id"]].relations() if r["rule_id"] in rules else {r["relation"]} for r in result.rules]
    assert all(relations & lineage for relations in checked), "a rule of another mart is listed"
    assert any(r["kind"] == "dbt_test" for r in result.rules), "the structural tests of the league table are listed"
    assert "published" in text.split("发布 Publications")[1]


def test_city_row_is_recomputed_across_counties(published, connect):
    result = explain(connect("auditor"), "mart_microcredit_league", "商丘市", "2021-12", "balance_households")
    assert result.county_code == "411400" and result.matches is True


def test_a_wrong_measure_is_reported_as_a_mismatch(published, connect):
    """Counting loan accounts instead of households with a balance gives more than the published figure."""
    auditor = connect("auditor")
    wrong = {"model": "fct_loans", "measure": "count(*)"}
    result = explain(auditor, "microcredit_league", "411422", "2021-12", "balance_households", meta=wrong)
    assert result.matches is False and result.recomputed > result.value
    assert "✗ 不一致 MISMATCH" in render(result)
    broken = explain(
        auditor,
        "microcredit_league",
        "411422",
        "2021-12",
        "balance_households",
        meta={"model": "fct_loans", "measure": "sum(no_such_column)"},
    )
    assert broken.matches is None and "复算失败 recomputation failed" in render(broken)


def test_auditor_reads_where_raw_rows_came_from_but_not_what_they_hold(published, connect):
    auditor = connect("auditor")
    assert auditor.execute("select count(_row_number) from raw.microcredit_loans").fetchone()[0] > 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        auditor.execute("select borrower_id_key from raw.microcredit_loans limit 1")
