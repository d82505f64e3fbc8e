"""The one place that configures astronomer-cosmos for this project's dbt models.

DAGs render the dbt project from its precompiled ``manifest.json`` (``make`` builds it
when the project is installed and whenever a model, macro or seed changes:
``include.dbt_env.build_manifest``), so parsing a DAG file never runs dbt. The monthly models
run as one ``dbt run`` per layer (``dbt.core``, then ``dbt.marts``), with dbt's own threads: a
task per model cost one dbt start-up each, about 40 s a month for 12 s of model SQL
(issue 12's measurement). A failing model fails its layer's task, and its log names the model.
No test task: the gate runs the dbt tests (``include.gate.dbt_tests``), records each in ``dq``
and holds back the marts downstream of a failing one, so a failing test never stops the month.
dbt runs in-process through dbt's runner.

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


def _operator_args() -> dict[str, Any]:
    """What every dbt operator of the DAG is given: the project, the profile, dbt's runner in process."""
    from cosmos.constants import InvocationMode  # noqa: PLC0415

    return {
        "install_deps": False,
        "emit_datasets": False,
        "invocation_mode": InvocationMode.DBT_RUNNER,
        "project_dir": str(config.DBT_PROJECT_DIR),
        "profile_config": _profile_config(),
        "retries": 0,  # a failing model or seed does not heal by waiting
    }


# The monthly layers, in the order they run: (task id, dbt selector).
LAYERS = (("core", "path:models/core"), ("marts", "path:models/marts"))


def dbt_task_group(group_id: str) -> Any:
    """A task group with one ``dbt run`` per layer of the monthly models; ``vars.month`` is the run's month."""
    from airflow.sdk import TaskGroup, chain  # noqa: PLC0415
    from cosmos.operators.local import DbtRunLocalOperator  # noqa: PLC0415

    common = {**_operator_args(), "vars": {"month": MONTH}}
    with TaskGroup(group_id) as group:
        chain(*[DbtRunLocalOperator(task_id=task_id, select=[selector], **common) for task_id, selector in LAYERS])
    return group


def dbt_setup_operators() -> tuple[Any, Any]:
    """`dbt seed` and `dbt run` of the staging views, for the DAG's setup (run only when needed)."""
    from cosmos.operators.local import DbtRunLocalOperator, DbtSeedLocalOperator  # noqa: PLC0415

    seed = DbtSeedLocalOperator(task_id="seeds", **_operator_args())
    staging = DbtRunLocalOperator(task_id="staging_views", select=["path:models/staging"], **_operator_args())
    return seed, staging
