"""dbt outside Airflow (the manifest build, `make docs`, `make rules`) and what tells the DAG to set it up.

Inside Airflow dbt logs in through the Airflow connection (``include.cosmos_config``);
here it reads ``dbt_project/profiles.yml``, whose variables ``dbt_env`` fills in.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from include import config
from include.warehouse.connection import Server

# Usage telemetry of dbt, Great Expectations and Cosmos: off everywhere the project runs them. The
# switches are set once, in offline.env, which the Makefile and docker-compose.yml read too.
OFFLINE_ENV = config.PROJECT_ROOT / "offline.env"
OFFLINE = {
    key: value
    for key, _, value in (line.partition("=") for line in OFFLINE_ENV.read_text(encoding="utf-8").splitlines())
    if key and not key.startswith("#")
}
DBT = str(Path(sys.executable).parent / "dbt")  # the dbt of this interpreter's environment
SETUP_PATHS = ("seeds/", "models/staging/")  # what the DAG's setup tasks build (the monthly models read them)


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


def build_manifest() -> Path:
    """``dbt parse``: the manifest the DAG renders from (no database needed), after writing the dbt files the
    contracts make (``dbt_sources.sync``). ``make`` runs it when the project is installed and whenever the dbt
    project or a contract changes; a deployment image bakes it in."""
    import os  # noqa: PLC0415

    from include.ingest import dbt_sources  # noqa: PLC0415

    dbt_sources.sync()
    env = {**os.environ, **OFFLINE, "DBT_PROFILES_DIR": str(config.DBT_PROJECT_DIR)}
    subprocess.run([DBT, "parse", "--quiet"], cwd=config.DBT_PROJECT_DIR, env=env, check=True)
    return config.DBT_MANIFEST


def setup_nodes(manifest: Path = config.DBT_MANIFEST) -> dict[str, dict]:
    """The manifest's seeds and staging models by id: what the DAG's setup tasks build."""
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"]
    return {
        node_id: node
        for node_id, node in sorted(nodes.items())
        if node["resource_type"] in ("seed", "model") and node["original_file_path"].startswith(SETUP_PATHS)
    }


def setup_fingerprint(manifest: Path = config.DBT_MANIFEST) -> str:
    """A digest of everything the setup tasks build from: the seeds and staging models (their
    checksums in the manifest) and the feed contracts that define the raw tables under them."""
    digest = hashlib.sha256()
    for node_id, node in setup_nodes(manifest).items():
        digest.update(f"{node_id}={node['checksum']['checksum']}\n".encode())
    for contract in sorted(config.CONTRACTS_DIR.glob("*.yml")):
        digest.update(contract.name.encode() + hashlib.sha256(contract.read_bytes()).digest())
    return digest.hexdigest()
