"""One month at a scale: December 2021 generated at ``SCALE`` times the city, then run under the scheduler on a
warehouse of its own, then rebuilt whole.

Run as ``python -m bench.scale OUT.json SCALE`` with its own ``SQW_STATE_DIR`` and ``SQW_LANDING_DIR`` (an empty
landing folder: ``bench/__main__`` gives each scale one). Measures, for the generation and for the month: the
seconds, and the peak memory of every process of the stage (``bench.memory``); for the month, its stages
(``runner.stage_seconds``) and the detail rows loaded. Then ``full_rebuild``: the monthly models rebuilt from
staging over every month the warehouse holds (``--full-refresh``), the cost an incremental month avoids.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

import samples
from bench.memory import Peak
from include import config
from include.bootstrap import ensure_ready
from include.cosmos_config import LAYERS
from include.dbt_env import DBT, dbt_env
from include.deploy import services
from include.deploy.runner import run_months
from include.warehouse.connection import Server

MONTH = dt.date(2021, 12, 1)


def full_rebuild(server: Server) -> float:
    """Seconds of ``dbt run --full-refresh`` of the monthly models over every month (the ``month`` var empty)."""
    command = [DBT, "run", "--full-refresh", "--quiet", "--select", *(selector for _, selector in LAYERS)]
    started = time.monotonic()
    subprocess.run(
        [*command, "--vars", '{"month": ""}'],
        cwd=config.DBT_PROJECT_DIR,
        env={**os.environ, **dbt_env(server)},
        check=True,
    )
    return time.monotonic() - started


def detail_rows(server: Server) -> dict[str, int]:
    """The detail rows of the current loads, by month (YYYY-MM)."""
    with psycopg.connect(server.url("admin")) as conn:
        rows = conn.execute(
            "select to_char(feed_month, 'YYYY-MM'), sum(detail_rows) from ops.loads where is_current group by 1"
        ).fetchall()
    return {month: int(count) for month, count in rows}


def generate(scale: float) -> int:
    """Write December's sample feeds at ``scale`` into the landing folder; returns the file count."""
    return len(samples.generate(config.LANDING_DIR, months=[MONTH.month], scale=scale, rewrite=True))


def measure(scale: float) -> dict[str, Any]:
    started = time.monotonic()
    with Peak() as generation:  # in a process of its own: the driver keeps none of the generator's memory
        subprocess.run([sys.executable, "-c", f"from bench.scale import generate; generate({scale})"], check=True)
    generate_s = time.monotonic() - started
    files = sum(1 for path in config.LANDING_DIR.rglob("*") if path.is_file())
    with Peak() as month:
        run = run_months([MONTH])[MONTH]
    server = ensure_ready()
    rows = detail_rows(server).get(f"{MONTH:%Y-%m}", 0)
    services.stop()
    return {
        "scale": scale,
        "state": run["state"],
        "files": files,
        "detail_rows": rows,
        "generate_s": round(generate_s, 1),
        "generate_peak_mib": round(generation.mib),
        **{stage: round(seconds, 1) for stage, seconds in run["spent"].items()},
        "month_peak_mib": round(month.mib),
        "full_rebuild_s": round(full_rebuild(server), 1),
    }


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(measure(float(sys.argv[2])), indent=1), encoding="utf-8")
    sys.exit(0)
