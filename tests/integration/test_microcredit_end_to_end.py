"""The first feed end to end: sample workbook → Airflow ingest → dbt → GX gate → published mart.

Runs December 2021 through real Airflow DAG runs on the embedded PostgreSQL and
compares the published league table with the figures the city printed.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from decimal import Decimal

import psycopg
import pytest

from include import config

DECEMBER = dt.date(2021, 12, 1)
MART = "marts.mart_microcredit_league"
pytestmark = pytest.mark.integration


def published_fixture() -> dict[str, dict[str, str]]:
    with open(config.REFERENCE_DIR / "ref_microcredit_league_2021_12.csv", encoding="utf-8") as handle:
        return {row["county_name"]: row for row in csv.DictReader(handle)}


def mart_rows(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(f"select * from {MART} order by month_start, county_code").fetchall()


@pytest.fixture(scope="module")
def december(run_dag) -> str:
    return run_dag(DECEMBER)


def test_december_run_succeeds_and_publishes(december, connect):
    assert december == "success"
    auditor = connect("auditor")
    status, marts, files = auditor.execute(
        "select status, marts, source_files from dq.publications order by publication_id desc limit 1"
    ).fetchone()
    assert status == "published"
    assert "mart_microcredit_league" in marts
    assert files[0]["file_name"] == "小额信贷_2021-12.xlsx" and len(files[0]["sha256"]) == 64


def test_league_table_reproduces_the_published_table_cell_by_cell(december, connect):
    expected = published_fixture()
    rows = (
        connect("bi")
        .execute(
            f"""select county_name, lifted_households, monitored_households, balance_households, new_households,
                   new_household_rate_pct, balance_household_rate_pct, balance_rate_rank
            from {MART} where month_start = %s""",
            [DECEMBER],
        )
        .fetchall()
    )
    assert {row[0] for row in rows} == set(expected)
    columns = [
        "lifted_households",
        "monitored_households",
        "balance_households",
        "new_households",
        "new_household_rate_pct",
        "balance_household_rate_pct",
        "rank",
    ]
    mismatches = []
    for name, *values in rows:
        for column, value in zip(columns, values, strict=True):
            printed = expected[name][column]
            if (Decimal(printed) if printed else None) != (Decimal(value) if value is not None else None):
                mismatches.append(f"{name} {column}: published {printed!r}, mart {value!r}")
    assert not mismatches, "\n".join(mismatches)


def test_every_loaded_row_carries_lineage(december, connect):
    conn = connect("transformer")
    loads = conn.execute(
        "select load_id, file_sha256, detail_rows from ops.loads where feed = 'microcredit' and is_current"
    ).fetchall()
    assert len(loads) == 1 and loads[0][2] > 50_000
    orphans = conn.execute(
        "select count(*) from core.fct_loans where load_id is null or source_row is null or source_sheet <> '明细'"
    ).fetchone()[0]
    assert orphans == 0


def test_second_run_leaves_marts_identical_and_raw_unduplicated(december, run_dag, connect):
    conn = connect("transformer")
    before = mart_rows(conn)
    raw_before = conn.execute("select count(*) from raw.microcredit_loans").fetchone()[0]
    assert run_dag(DECEMBER) == "success"
    assert mart_rows(conn) == before
    assert conn.execute("select count(*) from raw.microcredit_loans").fetchone()[0] == raw_before
    versions = conn.execute(
        "select count(*), max(version) from ops.loads where feed = 'microcredit' and feed_month = %s", [DECEMBER]
    ).fetchone()
    assert versions == (1, 1)


def test_bi_role_sees_marts_only(december, connect):
    bi = connect("bi")
    assert bi.execute(f"select count(*) from {MART}").fetchone()[0] == 11
    for relation in (
        "raw.microcredit_loans",
        "core.fct_loans",
        "ops.loads",
        "dq.rule_runs",
        "candidate.mart_microcredit_league",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute(f"select 1 from {relation} limit 1")


def test_no_clear_text_resident_id_anywhere_in_the_database(december, connect):
    conn = connect("admin")
    columns = conn.execute(
        """select table_schema, table_name, column_name from information_schema.columns
           where table_schema in ('raw', 'ops', 'staging', 'core', 'candidate', 'marts', 'dq', 'gate')
             and data_type in ('text', 'character varying', 'jsonb')"""
    ).fetchall()
    assert columns
    pattern = r"(^|[^0-9A-Za-z])[0-9]{17}[0-9Xx]([^0-9A-Za-z]|$)"
    leaks = []
    for schema, table, column in columns:
        found = conn.execute(
            psycopg.sql.SQL("select count(*) from {} where {}::text ~ %s").format(
                psycopg.sql.Identifier(schema, table), psycopg.sql.Identifier(column)
            ),
            [pattern],
        ).fetchone()[0]
        if found:
            leaks.append(f"{schema}.{table}.{column}: {found}")
    assert not leaks, leaks


def test_gate_holds_back_a_resubmission_whose_totals_do_not_add_up(december, run_dag, connect, tmp_path):
    """A corrected file whose 汇总 city row does not equal its county rows must not be published."""
    from samples import microcredit
    from samples.common import stamp_received, write_xlsx

    conn = connect("transformer")
    before = mart_rows(conn)
    accounts = microcredit.accounts()
    totals = microcredit.control_totals(accounts, 12)
    city = list(totals[-1])
    city[4] = int(city[4]) + 1  # 当年新增户数 of 商丘市 one more than its counties
    totals[-1] = tuple(city)
    original = config.LANDING_DIR / "microcredit" / microcredit.file_name(12)
    resubmission = original.with_name("小额信贷_2021-12_更正.xlsx")
    write_xlsx(
        resubmission,
        [
            ("明细", "明细表（2021年12月）", microcredit.DETAIL_HEADER, microcredit.snapshot(accounts, 12)),
            ("汇总", "通报表（2021年12月）", microcredit.TOTALS_HEADER, totals),
        ],
    )
    stamp_received(resubmission, DECEMBER, day=8)
    try:
        assert run_dag(DECEMBER) == "failed"
        assert mart_rows(conn) == before, "published marts changed although the gate failed"
        decision = conn.execute(
            "select status, reason from dq.publications order by publication_id desc limit 1"
        ).fetchone()
        # Only the league table is built from the failing file (dbt lineage); the other marts of the month publish.
        assert decision[0] == "partial" and "microcredit_control_totals_county_sum" in decision[1]
        held = conn.execute("select held_back from dq.publications order by publication_id desc limit 1").fetchone()
        assert held == (["mart_microcredit_league"],)
        failure = conn.execute(
            """select f.county_code, f.measure, f.declared, f.computed, f.difference
               from dq.rule_failures f join dq.rule_runs r using (rule_run_id)
               where r.rule_id = 'microcredit_control_totals_county_sum' order by r.rule_run_id desc limit 1"""
        ).fetchone()
        assert failure == ("411400", "new_households", 48060, 48059, 1)
        versions = conn.execute(
            "select version, is_current from ops.loads where feed = 'microcredit' order by version"
        ).fetchall()
        assert versions == [(1, False), (2, True)], "the resubmission is a new version; the old one stays in raw"
    finally:
        shutil.move(resubmission, tmp_path / resubmission.name)
    # The department re-sends the original: it becomes current again and the month publishes.
    stamp_received(original, DECEMBER, day=9)
    assert run_dag(DECEMBER) == "success"
    assert mart_rows(conn) == before


def test_completeness_grid_marks_each_county_of_the_delivered_month(december, connect):
    """December's microcredit file arrived on the 5th (deadline the 10th): on time in every county."""
    rows = (
        connect("auditor")
        .execute(
            """select county_code, status, detail_rows from ops.feed_completeness
           where feed = 'microcredit' and feed_month = %s order by county_code""",
            [DECEMBER],
        )
        .fetchall()
    )
    assert len(rows) == 10
    assert {status for _, status, _ in rows} in ({"on_time"}, {"resubmitted"})
    assert all(count > 0 for _, _, count in rows)
    other = (
        connect("auditor")
        .execute(
            "select distinct status from ops.feed_completeness where feed = 'water_projects' and feed_month = %s",
            [DECEMBER],
        )
        .fetchall()
    )
    assert other == [("missing",)], "a feed with no delivery is missing in every county"
