"""The one place that configures astronomer-cosmos for this project's dbt models.

DAGs render the dbt project from its precompiled ``manifest.json`` (``make`` builds it
when the project is installed and whenever a model, macro or seed changes:
``include.dbt_env.build_manifest``), so parsing a DAG file never runs dbt. Each core and
mart model becomes a visible Airflow task (`dbt run` per model): a failing model is a failed
task. Cosmos renders no test task: the gate runs the dbt tests (``include.gate.dbt_tests``),
records each in ``dq`` and holds back the marts downstream of a failing one, so a failing test
never stops the month. dbt runs in-process through dbt's runner.

dbt logs in through the Airflow connection ``sqw_warehouse`` (a Cosmos profile mapping),
so a connection from the UI, an environment variable or a secrets backend all work.
Seeds and staging views are not re-created every month: the DAG's setup tasks
(``dbt_setup_operators``) build them when they are missing or have changed.
Cosmos emits no datasets: the candidate tables are not what BI users read; the
publish task emits one Asset per mart it published.
"""

from __future__ import annotations

from typing import Any

from include import config

# The month a run processes, for dbt's ``vars.month``: the ``month`` Param, else the data interval.
MONTH = "{{ (params.month[:7] ~ '-01') if params.month else data_interval_start.strftime('%Y-%m-01') }}"
# What the monthly models leave out: built by the setup tasks, when changed (the gate's dbt tests leave them out too).
MONTHLY_EXCLUDE = ("path:models/staging", "path:seeds")


def _profile_config() -> Any:
    from cosmos import ProfileConfig  # noqa: PLC0415
    from cosmos.profiles import PostgresUserPasswordProfileMapping  # noqa: PLC0415

    return ProfileConfig(
        profile_name="shangqiu",
        target_name="warehouse",
        profile_mapping=PostgresUserPasswordProfileMapping(
            conn_id=config.WAREHOUSE_CONN_ID, profile_args={"schema": config.SCHEMA_CORE, "threads": 4}
        ),
    )


def _common_args() -> dict[str, Any]:
    return {"install_deps": False, "emit_datasets": False}


def dbt_task_group(group_id: str, **kwargs: Any) -> Any:
    """A Cosmos task group over the core and mart models; ``vars.month`` is the run's month."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig  # noqa: PLC0415
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior  # noqa: PLC0415

    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=config.DBT_PROJECT_DIR, manifest_path=config.DBT_MANIFEST, project_name="shangqiu"
        ),
        profile_config=_profile_config(),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.NONE,  # one task per model; the gate runs the tests (gate.dbt_tests)
            exclude=list(MONTHLY_EXCLUDE),
            emit_datasets=False,
        ),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER),
        operator_args={
            **_common_args(),
            "vars": {"month": MONTH},
            "retries": 0,  # a failing model does not heal by waiting
        },
        **kwargs,
    )


def dbt_setup_operators() -> tuple[Any, Any]:
    """`dbt seed` and `dbt run` of the staging views, for the DAG's setup (run only when needed)."""
    from cosmos.operators.local import DbtRunLocalOperator, DbtSeedLocalOperator  # noqa: PLC0415

    common = {
        **_common_args(),
        "project_dir": str(config.DBT_PROJECT_DIR),
        "profile_config": _profile_config(),
        "retries": 0,
    }
    seed = DbtSeedLocalOperator(task_id="seeds", **common)
    staging = DbtRunLocalOperator(task_id="staging_views", select=["path:models/staging"], **common)
    return seed, staging
