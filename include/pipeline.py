"""The monthly pipeline's steps, as the Airflow tasks call them.

Each step is idempotent and works on one month (the run's data interval or its ``month``
Param), never "latest". Steps connect through the Airflow connections of their role
(``config.AIRFLOW_CONN_IDS``), so a connection defined in the UI, in an environment
variable or in a secrets backend works, and looking one up never starts a server.
Each step logs what it did (stdlib logging: Airflow's task log).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import quote

import psycopg
import psycopg.sql

from include import config
from include.dbt_env import setup_fingerprint, setup_nodes
from include.gate import dbt_tests, gate
from include.gate.rule_schema import all_rules
from include.ingest.contract import contracts

log = logging.getLogger(__name__)


def warehouse_url(role: str, *, driver: str = "postgresql") -> str:
    """The URL of ``role``'s Airflow connection (transformer: ``sqw_warehouse``)."""
    from airflow.sdk import Connection  # noqa: PLC0415

    conn = Connection.get(config.AIRFLOW_CONN_IDS[role])
    credentials = f"{quote(conn.login or '', safe='')}:{quote(conn.password or '', safe='')}"
    return f"{driver}://{credentials}@{conn.host}:{conn.port or 5432}/{conn.schema or config.DATABASE}"


def mart_asset_uri(mart: str) -> str:
    """The Asset of a published mart (``postgres://host:port/database/schema/table``)."""
    return f"postgres://warehouse:5432/{config.DATABASE}/{config.SCHEMA_PUBLISHED}/{mart}"


def month_of(interval_start: dt.datetime | None, param: str | None = None) -> dt.date:
    """The reporting month a run processes: its ``month`` Param (YYYY-MM) when given, otherwise
    the month its data interval starts in."""
    if param:
        return dt.date.fromisoformat(f"{param[:7]}-01")
    if interval_start is None:
        raise ValueError("a manual run needs the month Param (YYYY-MM): it has no data interval")
    return dt.date(interval_start.year, interval_start.month, 1)


def _setup_state(conn: psycopg.Connection) -> tuple[str, list[str]]:
    """The fingerprint the setup last built (a comment on the staging schema) and what is missing of it."""
    (recorded,) = conn.execute(
        "select obj_description(to_regnamespace(%s), 'pg_namespace')", [config.SCHEMA_STAGING]
    ).fetchone() or (None,)
    wanted = [f'"{node["schema"]}"."{node["alias"]}"' for node in setup_nodes().values()]
    missing = [name for name in wanted if conn.execute("select to_regclass(%s)", [name]).fetchone() == (None,)]
    return (recorded or "").removeprefix("dbt setup "), missing


def dbt_setup_needed() -> bool:
    """Whether the seeds and staging views are missing or were built from other files than these."""
    with psycopg.connect(warehouse_url("transformer")) as conn:
        recorded, missing = _setup_state(conn)
    fingerprint = setup_fingerprint()
    if missing or recorded != fingerprint:
        log.info(
            "dbt setup needed: %d relation(s) missing, fingerprint %s (built: %s)",
            len(missing),
            fingerprint[:12],
            recorded[:12] or "never",
        )
        return True
    log.info("seeds and staging views are current (fingerprint %s)", fingerprint[:12])
    return False


def record_dbt_setup() -> str:
    """Record that the seeds and staging views now match this manifest and these contracts."""
    fingerprint = setup_fingerprint()
    with psycopg.connect(warehouse_url("transformer")) as conn:
        conn.execute(
            psycopg.sql.SQL("comment on schema {} is {}").format(
                psycopg.sql.Identifier(config.SCHEMA_STAGING), psycopg.sql.Literal(f"dbt setup {fingerprint}")
            )
        )
    return fingerprint


def feed_names() -> list[str]:
    """Every feed with a contract: adding a contract adds a mapped ingestion task."""
    return sorted(contracts())


def ingest_feed(feed: str, month: dt.date, run_id: str, url: str | None = None) -> dict[str, Any]:
    """Load (or quarantine) each delivery of ``feed`` for ``month``, oldest first (``url``: the loader's,
    default its Airflow connection). What the landing folder holds that is not loaded gets a finding in
    ``ops.landing_findings``: the feed's folder's, and the landing folder's own strays (every feed's task
    records those, each replacing the others', so whichever runs last they are the same)."""
    from include.ingest.load import ingest_month, record_landing, survey_landing  # noqa: PLC0415  (pandas: 1.3 s)

    results = []
    with psycopg.connect(url or warehouse_url("loader")) as conn:
        strays = survey_landing(contracts())
        record_landing(conn, month, "", strays, run_id=run_id)
        loaded, refused = ingest_month(conn, contracts()[feed], month, run_id=run_id)
        for result in loaded:
            log.info(
                "%s %s: %s, version %s, rows %s, %d finding(s)%s",
                feed,
                result.delivery.name,
                result.status,
                result.version,
                result.rows,
                len(result.findings),
                f" ({result.refusal.rule}: {result.refusal.found})" if result.refusal else "",
            )
            results.append(
                {
                    "file": result.delivery.name,
                    "status": result.status,
                    "version": result.version,
                    "rows": result.rows,
                    "findings": len(result.findings),
                }
            )
    for finding in refused:
        log.info("%s %s: not loaded, %s (%s): %s", feed, finding.name, finding.rule, finding.severity, finding.found)
    if not results:
        log.info("%s %s: no delivery in the landing folder", feed, f"{month:%Y-%m}")
    not_loaded = [{"file": f.name, "rule": f.rule, "severity": f.severity} for f in refused]
    return {"feed": feed, "month": month.isoformat(), "deliveries": results, "not_loaded": not_loaded}


def validate_month(month: dt.date, run_id: str, try_number: int | None = None) -> dict[str, Any]:
    """Run the month's dbt tests and the gate's rules on the candidate marts; record them all in dq, under a
    gate run of their own (with the Airflow run id and try number)."""
    url = warehouse_url("transformer")
    tests = dbt_tests.run(url, month, taken={rule.id for rule in all_rules()})
    with psycopg.connect(url) as conn:
        checks_url = warehouse_url("transformer", driver="postgresql+psycopg2")
        verdict = gate.validate(conn, checks_url, month, run_id, tests, try_number=try_number)
    log.info(
        "%s (gate run %s): %d rule(s) passed, %d fail rule(s) failed%s, %d warning(s)%s",
        f"{month:%Y-%m}",
        verdict.gate_run_id,
        len(verdict.passed),
        len(verdict.failed),
        f" ({', '.join(verdict.failed)})" if verdict.failed else "",
        len(verdict.warned),
        f" ({', '.join(verdict.warned)})" if verdict.warned else "",
    )
    return verdict.as_dict()


def checks_by_owner(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """The verdict split by owning department: one Airflow check task each."""
    return gate.Verdict.from_dict(verdict).by_owner()


def check_failures(check: dict[str, Any]) -> str | None:
    """Why one department's check task must fail (its fail rules that failed), or None."""
    if not check["failed"]:
        return None
    return f"{check['owner']} {check['month']}: failed rules {', '.join(check['failed'])}"


def publish_month(verdict: dict[str, Any], run_id: str, try_number: int | None = None) -> dict[str, Any]:
    """Publish every mart the failed rules do not taint; the decision is logged either way."""
    decided = gate.Verdict.from_dict(verdict)
    with psycopg.connect(warehouse_url("transformer")) as conn:
        publication = gate.publish(conn, decided, run_id, try_number=try_number)
    log.info(
        "%s: publication %s %s; published %s; held back %s",
        decided.month.isoformat()[:7],
        publication.publication_id,
        publication.status,
        ", ".join(publication.released) or "nothing",
        ", ".join(publication.held) or "nothing",
    )
    return {
        "publication_id": publication.publication_id,
        "status": publication.status,
        "published": publication.released,
        "failed": decided.failed,
        "held_back": publication.held,
    }


def report_month(month: dt.date) -> dict[str, Any]:
    """The auditor's report for ``month``, after publish whatever the gate decided (read as the auditor role):
    the HTML page, the workbook and, when Chromium can be had, the PDF."""
    from include.audit_report import write_report  # noqa: PLC0415  (GX and Jinja load only when reporting)

    written = write_report(month, warehouse_url("auditor"))
    for path in (written.html, written.xlsx, written.pdf or "PDF skipped"):
        log.info("%s: auditor's report %s", f"{month:%Y-%m}", path)
    log.info("%s: report seconds %s", f"{month:%Y-%m}", written.seconds)
    return {
        "month": month.isoformat(),
        "report": str(written.html),
        "xlsx": str(written.xlsx),
        "pdf": str(written.pdf) if written.pdf else None,
    }


__all__ = [
    "check_failures",
    "checks_by_owner",
    "config",
    "dbt_setup_needed",
    "feed_names",
    "ingest_feed",
    "mart_asset_uri",
    "month_of",
    "publish_month",
    "record_dbt_setup",
    "report_month",
    "validate_month",
    "warehouse_url",
]
