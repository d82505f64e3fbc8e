"""Every DAG file imports cleanly and follows the house rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
HEAVY = {"pandas", "great_expectations", "dbt", "psycopg", "openpyxl", "sqlalchemy", "python_calamine"}


@pytest.fixture(scope="module")
def dagbag():
    import subprocess
    import sys

    from include import config

    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "parse", "--quiet"],
        cwd=config.DBT_PROJECT_DIR,
        check=True,
        env={**__import__("os").environ, **_dummy_dbt_env()},
    )
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def _dummy_dbt_env() -> dict[str, str]:
    import os

    keys = ("SQW_DBT_HOST", "SQW_DBT_PORT", "SQW_DBT_USER", "SQW_DBT_PASSWORD", "SQW_DBT_DBNAME")
    return {key: os.environ.get(key, "5432" if key.endswith("PORT") else "unused") for key in keys}


def test_no_import_errors(dagbag):
    assert not dagbag.import_errors
    assert dagbag.dags


def test_dags_have_docs_tags_owner_and_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md) > 100, dag_id
        assert dag.tags, dag_id
        for task in dag.tasks:
            assert task.owner not in ("", "airflow"), task.task_id
        assert any(task.retries >= 1 for task in dag.tasks), f"{dag_id}: no task retries"


def test_dags_are_acyclic(dagbag):
    for dag in dagbag.dags.values():
        seen: dict[str, int] = {}

        def visit(task_id: str, dag=dag, seen=seen) -> None:
            if seen.get(task_id) == 1:
                raise AssertionError(f"cycle through {task_id}")
            if seen.get(task_id) == 2:
                return
            seen[task_id] = 1
            for child in dag.get_task(task_id).downstream_task_ids:
                visit(child)
            seen[task_id] = 2

        for task in dag.tasks:
            visit(task.task_id)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_do_orchestration_only(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_imports = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_imports |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            top_imports.add(node.module.split(".")[0])
    assert not top_imports & HEAVY, f"heavy import at module level: {top_imports & HEAVY}"
    assert "airflow.decorators" not in path.read_text(encoding="utf-8")
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 150
