"""The monthly pipeline's steps, as the Airflow tasks call them.

Each step is idempotent and works on one month (the run's data interval), never "latest".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from include import config
from include.gate import gate
from include.ingest.contract import contracts
from include.ingest.load import discover, load_delivery
from include.warehouse.connection import server


def month_of(interval_start: dt.datetime) -> dt.date:
    """The reporting month a run processes: the month its data interval starts in."""
    return dt.date(interval_start.year, interval_start.month, 1)


def feed_names() -> list[str]:
    """Every feed with a contract: adding a contract adds a mapped ingestion task."""
    return sorted(contracts())


def ingest_feed(feed: str, month: dt.date, run_id: str) -> dict[str, Any]:
    """Load (or quarantine) each delivery of ``feed`` for ``month``, oldest first."""
    results = []
    with psycopg.connect(server().url("loader")) as conn:
        for delivery in discover(contracts()[feed], month):
            result = load_delivery(conn, delivery, run_id=run_id)
            results.append(
                {
                    "file": delivery.name,
                    "status": result.status,
                    "version": result.version,
                    "rows": result.rows,
                    "findings": len(result.findings),
                }
            )
    return {"feed": feed, "month": month.isoformat(), "deliveries": results}


def gx_url() -> str:
    return server().url("transformer", driver="postgresql+psycopg2")


def validate_month(month: dt.date, run_id: str) -> dict[str, Any]:
    """Run the gate's rules on the month's candidate marts; record them in dq."""
    with psycopg.connect(server().url("transformer")) as conn:
        verdict = gate.validate(conn, gx_url(), month, run_id)
    return verdict.as_dict()


def checks_by_owner(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """The verdict split by owning department: one Airflow check task each."""
    return gate.Verdict.from_dict(verdict).by_owner()


def check_failures(check: dict[str, Any]) -> str | None:
    """Why one department's check task must fail (its fail rules that failed), or None."""
    if not check["failed"]:
        return None
    return f"{check['owner']} {check['month']}: failed rules {', '.join(check['failed'])}"


def publish_month(verdict: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Publish every mart the failed rules do not taint; the decision is logged either way."""
    decided = gate.Verdict.from_dict(verdict)
    with psycopg.connect(server().url("transformer")) as conn:
        publication_id = gate.publish(conn, decided, run_id)
    return {
        "publication_id": publication_id,
        "published": decided.publishable,
        "failed": decided.failed,
        "held_back": sorted(decided.held_back),
    }


def report_month(month: dt.date) -> dict[str, Any]:
    """The auditor's report for ``month``, after publish whatever the gate decided (read as the auditor role)."""
    from include.audit_report import write_report  # noqa: PLC0415  (GX and Jinja load only when reporting)

    return {"month": month.isoformat(), "report": str(write_report(month))}


__all__ = [
    "check_failures",
    "checks_by_owner",
    "config",
    "feed_names",
    "ingest_feed",
    "month_of",
    "publish_month",
    "report_month",
    "validate_month",
]
