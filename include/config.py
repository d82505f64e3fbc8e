"""The one configuration module: paths, schemas, roles and connection ids.

Everything that differs between a laptop and a deployment comes from the
environment (see ``.env.example``); everything else is a constant here.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("SQW_STATE_DIR", PROJECT_ROOT / ".local"))
PGDATA = STATE_DIR / "pgdata"
SECRETS_DIR = STATE_DIR / "secrets"
LANDING_DIR = Path(os.environ.get("SQW_LANDING_DIR", STATE_DIR / "landing"))
QUARANTINE_DIR = STATE_DIR / "quarantine"
REPORTS_DIR = STATE_DIR / "reports"
AIRFLOW_HOME = STATE_DIR / "airflow"

CONTRACTS_DIR = PROJECT_ROOT / "include" / "contracts"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"  # built by `make` (dbt_env.build_manifest)
REFERENCE_DIR = DBT_PROJECT_DIR / "seeds"  # reference facts, also loaded by `dbt seed`
GX_ROOT_DIR = PROJECT_ROOT / "expectations"
RULES_DIR = GX_ROOT_DIR / "rules"

# The admin URL of a real server (otherwise the embedded one); only set-up uses it, never a task.
WAREHOUSE_URL_ENV = "SQW_WAREHOUSE_URL"
DATABASE = "shangqiu"

# Schemas. dbt builds staging/core/candidate; BI users only ever see `marts`.
SCHEMA_RAW = "raw"
SCHEMA_OPS = "ops"  # loads, lineage, findings, publications
SCHEMA_STAGING = "staging"
SCHEMA_CORE = "core"  # dimensions and facts
SCHEMA_CANDIDATE = "candidate"  # marts awaiting the gate
SCHEMA_GATE = "gate"  # month-scoped relations that GX validates
SCHEMA_PUBLISHED = "marts"
SCHEMA_DQ = "dq"  # validation history for auditors

# Login roles. Their passwords live in SECRETS_DIR (or the environment), never in git.
ROLE_ADMIN = "sqw_admin"
ROLE_LOADER = "sqw_loader"
ROLE_TRANSFORMER = "sqw_transformer"
ROLE_BI = "sqw_bi"
ROLE_AUDITOR = "sqw_auditor"
ROLES = {
    "admin": ROLE_ADMIN,
    "loader": ROLE_LOADER,
    "transformer": ROLE_TRANSFORMER,
    "bi": ROLE_BI,
    "auditor": ROLE_AUDITOR,
}

# The Airflow connection each task role logs in with (defined in the UI, as AIRFLOW_CONN_<ID>, or in a
# secrets backend). dbt (through a Cosmos profile mapping), GX and the gate use ``sqw_warehouse``.
AIRFLOW_CONN_IDS = {"transformer": "sqw_warehouse", "loader": "sqw_loader", "auditor": "sqw_auditor"}
WAREHOUSE_CONN_ID = AIRFLOW_CONN_IDS["transformer"]

YEAR = 2021
# The reporting months the monthly schedule covers (its start and end date). The scheduler never creates a
# run outside them on its own; ``SQW_LAST_MONTH=`` (empty) leaves the schedule open, for a live deployment.
FIRST_MONTH = "2021-01"
LAST_MONTH = os.environ.get("SQW_LAST_MONTH", "2021-12")
# dbt_project.yml's vars: the one definition of the constants dbt and Python share.
DBT_VARS = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
# The city's code (the row that totals every county).
CITY_CODE = str(DBT_VARS["city_code"])

# What the loader accepts from the landing folder (see include/ingest/load.py). A file over the cap is refused
# unread; a delivery is refused, unloaded, unless the database's and the quarantine's disks have its size times
# the factor free, plus the reserve.
MAX_FILE_BYTES = int(os.environ.get("SQW_MAX_FILE_BYTES", str(256 * 1024**2)))
DISK_FACTOR = float(os.environ.get("SQW_DISK_FACTOR", "20"))  # raw rows, indexes and WAL of an xlsx's cells
DISK_RESERVE_BYTES = int(os.environ.get("SQW_DISK_RESERVE_BYTES", str(256 * 1024**2)))
MAX_ROW_FINDINGS = int(os.environ.get("SQW_MAX_ROW_FINDINGS", "1000"))  # per sheet, rule and column of a load
