"""One month, three ways, in one run: ``dag.test()``, the scheduler with the LocalExecutor, and the
scheduler with two Celery workers. ``python -m bench.airflow_modes 2021-12`` (after a ``make run``,
so the warehouse, the sample feeds and the months before are there).

For each it reports the month's wall time and how it splits:
- ``work``: what the tasks spent doing their job (their summed run time, less their start-up);
- ``start-up``: each task's own start-up inside its clock (a fresh process, imports, dbt's start),
  estimated as the median run time of the DAG's trivial tasks times the number of tasks;
- ``scheduling``: wall time in which no task of the run was executing (scheduler loop, queueing);
- ``queued``: summed time tasks waited between being queued and starting.
Results go to ``bench/results/airflow_modes.{md,json}``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from include import config
from include.deploy import runner, services
from include.deploy.api import Api

TRIVIAL = ("feeds", "departments", "dbt_setup_needed", "dbt_setup_recorded")
RESULTS = Path(__file__).resolve().parent / "results"


def split(tis: list[dict[str, Any]], wall: float) -> dict[str, float]:
    ran = [t for t in tis if t.get("start_date") and t.get("end_date")]
    durations = {
        t["task_id"] + str(t.get("map_index", -1)): runner.between(t["start_date"], t["end_date"]) for t in ran
    }
    trivial = [runner.between(t["start_date"], t["end_date"]) for t in ran if t["task_id"] in TRIVIAL]
    startup = statistics.median(trivial) if trivial else 0.0
    spent = runner.stage_seconds(ran)
    return {
        "wall": wall,
        "tasks": len(ran),
        "task_seconds": sum(durations.values()),
        "startup_per_task": startup,
        "startup": startup * len(ran),
        "work": sum(durations.values()) - startup * len(ran),
        "scheduling": wall - spent.get("busy", 0.0),
        "queued": sum(runner.between(t.get("queued_when"), t.get("start_date")) for t in ran),
        **{stage: spent[stage] for stage in runner.STAGES},
    }


def under_dag_test(month: str) -> dict[str, float]:
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "include.cli", "dag-test", month, "--json"], capture_output=True, text=True, check=False
    )  # exits 1 when the run failed, as December's does when the gate holds marts back
    wall = time.monotonic() - started
    tis = json.loads(out.stdout.strip().splitlines()[-1])
    return split(tis, wall)


def under_scheduler(shape: str, month: str) -> dict[str, float]:
    services.stop()
    deployment = services.start(shape, quiet=True)
    try:
        api = Api(deployment)
        runner.wait_for_dag(api)
        since = dt.datetime.now(dt.UTC)
        first = dt.date.fromisoformat(f"{month}-01")
        seen: dict[str, Any] = {}
        runner.submit(api, [first])
        runner.follow(api, [first], since, lambda m, s, tis, run: seen.update(tis=tis, run=run), say=lambda _: None)
        return split(seen["tis"], runner.stage_seconds(seen["tis"], seen["run"])["wall"])
    finally:
        services.stop()


def main(month: str) -> None:
    rows = {
        "dag.test()": under_dag_test(month),
        "LocalExecutor": under_scheduler("local", month),
        "Celery, 2 workers": under_scheduler("cluster", month),
    }
    RESULTS.mkdir(exist_ok=True)
    machine = f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    (RESULTS / "airflow_modes.json").write_text(
        json.dumps({"month": month, "machine": machine, "runs": rows}, indent=2)
    )
    head = "| mode | wall s | work s | task start-up s (per task) | scheduling s | queued s | tasks |"
    lines = [f"One month ({month}), {machine}", "", head, "|---|---|---|---|---|---|---|"]
    for mode, r in rows.items():
        lines.append(
            f"| {mode} | {r['wall']:.0f} | {r['work']:.0f} | {r['startup']:.0f} ({r['startup_per_task']:.1f}) |"
            f" {r['scheduling']:.0f} | {r['queued']:.0f} | {r['tasks']:.0f} |"
        )
    (RESULTS / "airflow_modes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else f"{config.YEAR}-12")
