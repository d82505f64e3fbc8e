"""The month_partitioned materialization under a change of columns, run by real dbt on the real warehouse.

A probe model in a throwaway dbt project (the project's own macros copied beside it) is built for January
and February, then given a new column in the middle of its select list and built for March: every month
must still be there, each value in its own column. April's select types a column otherwise: it is stored in
the table's type. Then a column is removed: the model must fail, naming it, and leave the table as it was.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml

from include import config
from include.dbt_env import dbt_env

pytestmark = pytest.mark.integration
TABLE = "zz_month_partitioned_probe"
DBT = str(Path(sys.executable).with_name("dbt"))


@pytest.fixture
def project(tmp_path: Path, warehouse):
    shutil.copytree(config.DBT_PROJECT_DIR / "macros", tmp_path / "macros")
    (tmp_path / "models").mkdir()
    spec = {"name": "probe", "version": "1.0.0", "config-version": 2, "profile": "shangqiu",
            "vars": {"month": ""}, "models": {"probe": {"+schema": config.SCHEMA_CORE}}}  # fmt: skip
    (tmp_path / "dbt_project.yml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    admin = psycopg.connect(warehouse.url("admin"), autocommit=True)
    admin.execute(f"drop table if exists {config.SCHEMA_CORE}.{TABLE} cascade")
    yield tmp_path
    admin.execute(f"drop table if exists {config.SCHEMA_CORE}.{TABLE} cascade")
    admin.close()


def _build(project: Path, warehouse, month: str, select: str) -> subprocess.CompletedProcess[str]:
    model = "{{ config(materialized='month_partitioned', partition_by='month_start') }}\nselect " + select
    (project / "models" / f"{TABLE}.sql").write_text(model.replace("MONTH", f"'{month}'::date"), encoding="utf-8")
    return subprocess.run(
        [DBT, "run", "--project-dir", str(project), "--profiles-dir", str(config.DBT_PROJECT_DIR),
         "--target-path", str(project / "target"), "--log-path", str(project / "logs"),
         "--vars", f"{{month: '{month}'}}", "--no-use-colors"],
        env=dbt_env(warehouse), capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def _rows(warehouse) -> list[tuple]:
    with psycopg.connect(warehouse.url("transformer")) as conn:
        return conn.execute(f"select * from {config.SCHEMA_CORE}.{TABLE} order by 1").fetchall()


def test_a_new_column_keeps_every_month_and_a_removed_one_fails_without_loss(project, warehouse) -> None:
    first = "MONTH as month_start, '411402'::text as county_code, 1::integer as value"
    for month in ("2021-01-01", "2021-02-01"):
        done = _build(project, warehouse, month, first)
        assert done.returncode == 0, done.stdout[-3000:]
    before = _rows(warehouse)
    assert [row[2] for row in before] == [1, 1]

    added = "MONTH as month_start, '411402'::text as county_code, 0.5::numeric as share, 3::integer as value"
    done = _build(project, warehouse, "2021-03-01", added)
    assert done.returncode == 0, done.stdout[-3000:]
    with psycopg.connect(warehouse.url("transformer")) as conn:
        rows = conn.execute(
            f"select month_start::text, value, share from {config.SCHEMA_CORE}.{TABLE} order by 1"
        ).fetchall()
    assert rows == [("2021-01-01", 1, None), ("2021-02-01", 1, None), ("2021-03-01", 3, 0.5)]

    # A month whose select types a column otherwise (sum() of a bigint is numeric) is stored in the table's type.
    drifted = "MONTH as month_start, '411402'::text as county_code, 0.25::numeric as share, 4::numeric as value"
    done = _build(project, warehouse, "2021-04-01", drifted)
    assert done.returncode == 0, done.stdout[-3000:]
    assert _rows(warehouse)[-1][1:] == ("411402", 4, 0.25)

    removed = "MONTH as month_start, '411402'::text as county_code, 0.5::numeric as share"
    kept = _rows(warehouse)
    done = _build(project, warehouse, "2021-05-01", removed)
    assert done.returncode != 0
    assert "value integer -> removed" in done.stdout and "--full-refresh" in done.stdout, done.stdout[-3000:]
    assert _rows(warehouse) == kept, "a refused change leaves the table as it was"
