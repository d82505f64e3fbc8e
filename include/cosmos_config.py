"""The one place that configures astronomer-cosmos for this project's dbt models.

DAGs render the dbt project from its precompiled ``manifest.json`` (``dbt parse``
writes it), so parsing a DAG file never runs dbt. Each model and its tests
become visible Airflow tasks (`dbt run` per model, then one `dbt test` task for
every data and unit test: a failing model or test is a failed task), executed
in-process through dbt's runner. One test task instead of `dbt build` per model
saves a dbt invocation per model (about 3 s each, 54 models a month). Staging
views are not rendered: they are created once when the runtime starts.
"""

from __future__ import annotations

from typing import Any

from include import config

MANIFEST = config.DBT_PROJECT_DIR / "target" / "manifest.json"


def dbt_task_group(group_id: str, **kwargs: Any) -> Any:
    """A Cosmos task group over the dbt project; ``vars.month`` is the run's month."""
    from cosmos import (  # noqa: PLC0415
        DbtTaskGroup,
        ExecutionConfig,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
    )
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior  # noqa: PLC0415

    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=config.DBT_PROJECT_DIR,
            manifest_path=MANIFEST,
            project_name="shangqiu",
        ),
        profile_config=ProfileConfig(
            profile_name="shangqiu",
            target_name="warehouse",
            profiles_yml_filepath=config.DBT_PROJECT_DIR / "profiles.yml",
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_ALL,  # one task per model; every data test in one task after them
            # Seeds and staging views (over raw) are created once at start-up (`prepare_runtime`), not re-created
            # every month (each would cost a dbt invocation, ~1.5 s, 31 of them).
            exclude=["path:models/staging", "path:seeds"],
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        operator_args={
            "vars": {"month": "{{ data_interval_start.strftime('%Y-%m-01') }}"},
            "install_deps": False,
            "retries": 0,  # a failing model or test does not heal by waiting
        },
        **kwargs,
    )
