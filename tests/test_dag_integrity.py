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
    from include.dbt_env import build_manifest

    build_manifest()  # as `make` does at install: no database, no credentials
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


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


def test_a_manual_run_takes_a_month_param_and_nothing_asserts_on_the_interval(dagbag):
    dag = dagbag.dags["shangqiu_monthly"]
    assert "month" in dag.params
    assert dag.params.get_param("month").schema["pattern"] == r"^\d{4}-\d{2}$"
    for path in [*DAG_FILES, ROOT / "include" / "pipeline.py", ROOT / "include" / "cosmos_config.py"]:
        assert not [n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Assert)], path


def test_only_publish_emits_assets_and_cosmos_advertises_no_candidate_tables(dagbag):
    from airflow.sdk import AssetAlias

    dag = dagbag.dags["shangqiu_monthly"]
    emitting = {task.task_id: task.outlets for task in dag.tasks if task.outlets}
    assert list(emitting) == ["publish"], emitting
    assert all(isinstance(outlet, AssetAlias) for outlet in emitting["publish"])
    assert not [task.task_id for task in dag.tasks if task.task_id.startswith("dbt") and task.inlets]


def test_months_run_in_order(dagbag):
    dag = dagbag.dags["shangqiu_monthly"]
    assert dag.max_active_runs == 1
    assert dag.get_task("validate").depends_on_past


def test_task_code_never_changes_the_process_environment():
    """Only the developer's runtime sets up its own process (``include.bootstrap``, for dag.test); no task, hook
    or other library module does."""
    for path in sorted((ROOT / "include").rglob("*.py")):
        if path == ROOT / "include" / "bootstrap.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target = node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else None
            if isinstance(node, ast.Assign):
                target = next((t.value for t in node.targets if isinstance(t, ast.Subscript)), None)
            if isinstance(target, ast.Attribute) and target.attr == "environ":
                call = node.func.attr if isinstance(node, ast.Call) else "item assignment"  # type: ignore[union-attr]
                assert call in ("get", "copy", "items", "keys"), f"{path}:{node.lineno}: os.environ {call}"


def test_dbt_runs_one_task_per_layer_and_the_gate_runs_the_tests(dagbag):
    """One ``dbt run`` per layer, core before marts, covering every monthly model exactly once. No Cosmos test
    task: a failing dbt test must not stop the month. ``validate`` runs the tests after every model
    (``include.gate.dbt_tests``), records them in dq and holds back the marts downstream."""
    import json

    from include import config

    dag = dagbag.dags["shangqiu_monthly"]
    dbt_tasks = {task.task_id: task for task in dag.tasks if task.task_id.startswith("dbt.")}
    assert set(dbt_tasks) == {"dbt.core", "dbt.marts"}
    assert all(type(task).__name__ == "DbtRunLocalOperator" for task in dbt_tasks.values())
    assert dbt_tasks["dbt.core"].downstream_task_ids == {"dbt.marts"}
    manifest = json.loads(config.DBT_MANIFEST.read_text(encoding="utf-8"))
    monthly = {
        node["original_file_path"].split("/")[1]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and not node["original_file_path"].startswith("models/staging/")
    }
    assert sorted(task.select for task in dbt_tasks.values()) == [[f"path:models/{layer}"] for layer in sorted(monthly)]
    validate = dag.get_task("validate")
    assert validate.upstream_task_ids >= {"dbt.marts"}
    assert validate.retries == 0 and validate.trigger_rule == "all_success"
