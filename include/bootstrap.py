"""Bootstrapping, composed from above: the warehouse's ground floor (``include.warehouse``: server, database,
roles, schemas), then the tables of the floors that write into it (ingestion's ``raw``/``ops``, the gate's
``dq``); and, for a developer's ``dag.test()`` (``make dag-test``, the tests), this process's runtime.
Idempotent. The warehouse layer imports nothing of ingestion or the gate: this module puts them together.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from include import config
from include.dbt_env import build_manifest, dbt_env
from include.gate.gate import ensure_dq_schema
from include.ingest.ddl import ensure_raw_schema
from include.warehouse.bootstrap import bootstrap
from include.warehouse.connection import Server, server


def ensure_ready() -> Server:
    """Start (or find) the server and create everything the pipeline writes into."""
    found = server()
    bootstrap(found)
    with psycopg.connect(found.url("loader")) as conn:
        ensure_raw_schema(conn)
    with psycopg.connect(found.url("transformer")) as conn:
        ensure_dq_schema(conn)
    return found


def developer_env(found: Server) -> dict[str, str]:
    """What ``dag.test()`` needs in its process (a developer tool, and the tests): Airflow in the project's
    Airflow home with SQLite metadata (the deployment's services name their PostgreSQL metadata database
    explicitly), the task roles' connections, dbt's profile variables."""
    return {
        **dbt_env(found),
        **found.airflow_connections(),
        "AIRFLOW_HOME": str(config.AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(config.PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(config.AIRFLOW_HOME / "dag-test" / "logs"),
        "PYTHONPATH": str(config.PROJECT_ROOT),
    }


def prepare_developer_runtime() -> Server:
    """The warehouse up, the manifest built, and this process set up for ``dag.test()``."""
    found = ensure_ready()
    if not config.DBT_MANIFEST.exists():
        build_manifest()
    os.environ.update(developer_env(found))  # the developer's process, never a task's
    marker = config.AIRFLOW_HOME / ".migrated-dag-test"
    if not marker.exists():
        config.AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
        airflow = str(Path(sys.executable).parent / "airflow")
        subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True)
        marker.touch()
    return found
