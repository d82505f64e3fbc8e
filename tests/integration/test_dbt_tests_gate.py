"""A failing dbt test is a gate finding, not a stopped month (issue 10, "one home for each check").

One real DAG run of December on the session's microcredit-only landing, with a duplicated programme
in the seed behind ``dim_program``: dbt's ``unique`` tests on ``dim_program`` fail. The month is still
validated, every dbt test's outcome is in ``dq`` beside the rules', the one mart downstream of
``dim_program`` (``mart_subsidies``) is held back and the others, the league table among them, publish.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest

from include import config
from include.dbt_env import DBT, dbt_env

DECEMBER = dt.date(2021, 12, 1)
pytestmark = pytest.mark.integration


def _set_up_dbt(warehouse) -> None:
    """Seeds and staging views, recorded as the DAG's setup records them, so the run skips its setup
    and keeps the seed as this test leaves it."""
    from include.pipeline import record_dbt_setup

    env = {**os.environ, **dbt_env(warehouse)}
    for args in (["seed"], ["run", "--select", "path:models/staging"]):
        subprocess.run([DBT, *args, "--quiet"], cwd=config.DBT_PROJECT_DIR, env=env, check=True)
    record_dbt_setup()


@pytest.fixture(scope="module")
def tampered_run(warehouse, run_dag):
    import psycopg

    from include.gate.lineage import lineage

    _set_up_dbt(warehouse)
    with psycopg.connect(warehouse.url("admin"), autocommit=True) as admin:
        admin.execute("insert into core.ref_programs select * from core.ref_programs where program_code = 'dibao'")
        try:
            state = run_dag(DECEMBER)
        finally:
            admin.execute(
                """delete from core.ref_programs as p using (
                       select ctid, row_number() over (partition by program_code) as n from core.ref_programs
                   ) as numbered where p.ctid = numbered.ctid and numbered.n > 1"""
            )
    return state, lineage().affected_marts({"dim_program"})


def test_the_failing_test_holds_back_only_the_marts_downstream_of_its_model(tampered_run, connect):
    state, downstream = tampered_run
    assert downstream == {"mart_subsidies"}
    assert state == "failed", "the data-engineering check fails the run: the owner is alerted"
    auditor = connect("auditor")
    status, marts, held, reason = auditor.execute(
        """select status, marts, held_back, reason from dq.publications where month_start = %s
           order by publication_id desc limit 1""",
        [DECEMBER],
    ).fetchone()
    assert status == "partial"
    assert held == sorted(downstream)
    assert "unique_dim_program_program_code" in reason
    assert "mart_microcredit_league" in marts and "mart_subsidies" not in marts
    published = connect("bi").execute(
        "select count(*) from marts.mart_microcredit_league where month_start = %s", [DECEMBER]
    )
    assert published.fetchone() == (11,), "the league table of the month is published"


def test_every_dbt_test_of_the_gate_run_is_in_dq_with_its_outcome(tampered_run, connect):
    from include.gate.rule_schema import all_rules

    auditor = connect("auditor")
    (run_id,) = auditor.execute(
        "select run_id from dq.publications where month_start = %s order by publication_id desc limit 1", [DECEMBER]
    ).fetchone()
    runs = {
        row[0]: row[1:]
        for row in auditor.execute(
            """select rule_id, kind, relation, severity, status, unexpected_count, owner, description_en
               from dq.rule_runs where run_id = %s and month_start = %s""",
            [run_id, DECEMBER],
        ).fetchall()
    }
    tests = {rule_id: run for rule_id, run in runs.items() if run[0].startswith("dbt_")}
    assert {rule.id for rule in all_rules()} <= set(runs), "the rules ran in the same gate run"
    assert len(tests) > 100 and {run[0] for run in tests.values()} == {"dbt_test", "dbt_unit_test"}
    failing = {rule_id: run for rule_id, run in tests.items() if run[3] != "passed"}
    assert failing == {
        "unique_dim_program_program_code": (
            "dbt_test",
            "dim_program",
            "fail",
            "failed",
            1,
            "data_engineering",
            "dbt unique test of dim_program.program_code",
        ),
        "unique_dim_program_name_zh": (
            "dbt_test",
            "dim_program",
            "fail",
            "failed",
            1,
            "data_engineering",
            "dbt unique test of dim_program.name_zh",
        ),
    }
    rows = auditor.execute(
        """select f.row_detail from dq.rule_failures f join dq.rule_runs r using (rule_run_id)
           where r.run_id = %s and r.rule_id = 'unique_dim_program_program_code'""",
        [run_id],
    ).fetchall()
    assert len(rows) == 1 and rows[0][0] | {"unique_field": "dibao", "n_records": 2} == rows[0][0], rows
