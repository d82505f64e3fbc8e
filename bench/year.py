"""The year under the scheduler, as ``make run`` runs it, and the gate against a sequential scan.

Run as ``python -m bench.year OUT.json`` with its own ``SQW_STATE_DIR`` (``bench/__main__`` does). Per month:
the stage seconds of its task instances (``runner.stage_seconds``), the time its tasks waited between being
queued and starting (Airflow's scheduling and task start-up), and the run's wall time. Then December's
``validate`` against one sequential scan (``count(*)``, warm) of every relation the rules read, and the
monthly models rebuilt whole over the twelve months (``bench.scale.full_rebuild``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.scale import detail_rows, full_rebuild
from include import config
from include.bootstrap import ensure_ready
from include.cli import ensure_samples
from include.deploy import services
from include.deploy.runner import STAGES, between, months_of, run_months, stage_seconds
from include.gate.gx_context import referenced_relations
from include.gate.rule_schema import relation_schema


def _task_seconds(tis: list[dict[str, Any]], prefix: str) -> float:
    return sum(between(ti.get("start_date"), ti.get("end_date")) for ti in tis if ti["task_id"].startswith(prefix))


def _scan_seconds(url: str) -> dict[str, float]:
    """One warm sequential scan of each relation the rules read (all months)."""
    spent = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set enable_indexscan = off; set enable_bitmapscan = off; set enable_indexonlyscan = off")
        for relation in referenced_relations():
            name = sql.Identifier(relation_schema(relation), relation)
            query = sql.SQL("select count(*) from {}").format(name)
            conn.execute(query)  # warm
            started = time.perf_counter()
            conn.execute(query)
            spent[relation] = time.perf_counter() - started
    return spent


def measure() -> dict[str, Any]:
    started = time.monotonic()
    done = run_months(months_of(config.YEAR, None), ensure_samples)
    wall = time.monotonic() - started
    months, ingest = {}, STAGES["ingest"]
    for month, run in sorted(done.items()):
        tis = run["tis"]
        months[f"{month:%Y-%m}"] = {
            "state": run["state"],
            **{stage: round(seconds, 1) for stage, seconds in run["spent"].items()},
            "task_sum": round(_task_seconds(tis, ""), 1),
            "queued_to_start": round(sum(between(ti.get("queued_when"), ti.get("start_date")) for ti in tis), 1),
            "ingest_span": round(
                stage_seconds([ti for ti in tis if ti["task_id"].startswith(ingest)]).get("wall", 0), 1
            ),
            "validate": round(_task_seconds(tis, "validate"), 1),
            "publish": round(_task_seconds(tis, "publish"), 1),
            "tasks": len(tis),
        }
    server = ensure_ready()
    for key, rows in detail_rows(server).items():
        if key in months:
            months[key]["detail_rows"] = rows
    scans = _scan_seconds(server.url("admin"))
    services.stop()
    return {
        "year_wall_s": round(wall, 1),
        "months": months,
        "scan_s": {k: round(v, 3) for k, v in scans.items()},
        "full_rebuild_s": round(full_rebuild(server), 1),
    }


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(measure(), indent=1, default=str), encoding="utf-8")
    sys.exit(0)
