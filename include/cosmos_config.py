"""The one place that configures astronomer-cosmos for this project's dbt models.

DAGs render the dbt project from its precompiled ``manifest.json`` (``dbt parse``
writes it), so parsing a DAG file never runs dbt. Each model and its tests
become visible Airflow tasks (`dbt build` per model: a failing test fails its
model's task), executed in-process through dbt's runner.
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
            test_behavior=TestBehavior.BUILD,  # one task per model: `dbt build` runs it and its tests
            should_detach_multiple_parents_tests=True,  # a relationships test runs once both sides exist
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
