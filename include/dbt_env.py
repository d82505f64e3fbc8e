"""Environment for dbt: the transformer role's credentials and telemetry off."""

from __future__ import annotations

import os

from include import config
from include.warehouse.connection import Server

OFFLINE = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "GX_ANALYTICS_ENABLED": "False",
}


def dbt_env(server: Server) -> dict[str, str]:
    """Variables that dbt_project/profiles.yml reads (transformer role)."""
    env = server.libpq_env("transformer")
    return {
        **OFFLINE,
        "SQW_DBT_HOST": env["PGHOST"],
        "SQW_DBT_PORT": env["PGPORT"],
        "SQW_DBT_USER": env["PGUSER"],
        "SQW_DBT_PASSWORD": env["PGPASSWORD"],
        "SQW_DBT_DBNAME": env["PGDATABASE"],
        "DBT_PROFILES_DIR": str(config.DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(config.DBT_PROJECT_DIR),
    }


def export(server: Server) -> None:
    """Put the dbt variables into this process's environment."""
    os.environ.update(dbt_env(server))
