"""``make run``: submit months of 2021 to the scheduler as a backfill and follow them to the end.

The year (or one month, ``make run MONTH=2021-03``) is one Airflow backfill with
``reprocess_behavior=completed``: a month that already ran is cleared and run again, visible
in the UI like any other run. The scheduler runs the months in order (one active run). While
they run this prints a line per finished month with its stage times, and every 30 s what is
running now.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from include import config
from include.deploy.api import DAG_ID, Api

FINISHED = ("success", "failed")
STAGES = {  # stage -> task id prefixes
    "setup": ("dbt_setup", "seeds", "staging_views"),
    "ingest": ("feeds", "ingest"),
    "dbt": ("dbt.",),
    "gate": ("validate", "departments", "check", "publish"),
    "report": ("report",),
}
QUIET_SECONDS = 30


def api_time(value: str | None) -> dt.datetime | None:
    """A timestamp of the REST API (ISO 8601, "Z" for UTC), or None."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def between(start: str | None, end: str | None) -> float:
    """Seconds from one REST API timestamp to another; 0 when either is missing."""
    first, last = api_time(start), api_time(end)
    return (last - first).total_seconds() if first and last else 0.0


def stage_seconds(task_instances: list[dict[str, Any]], run: dict[str, Any] | None = None) -> dict[str, float]:
    """Seconds the task instances worked per stage; ``busy``: the wall time in which at least one
    task was executing; ``wall``: the run's wall time. ``wall - busy`` is Airflow's own share:
    scheduling, queueing and task start-up before a task's own clock starts."""
    spent = dict.fromkeys(STAGES, 0.0)
    spans = []
    for ti in task_instances:
        start, end = api_time(ti.get("start_date")), api_time(ti.get("end_date"))
        if not (start and end):
            continue
        spans.append((start, end))
        for stage, prefixes in STAGES.items():
            if ti["task_id"].startswith(prefixes):
                spent[stage] += (end - start).total_seconds()
    if spans:
        busy, cursor = 0.0, min(s for s, _ in spans)
        for start, end in sorted(spans):
            if end > cursor:
                busy += (end - max(start, cursor)).total_seconds()
                cursor = end
        spent["busy"] = busy
        first, last = min(s for s, _ in spans), max(e for _, e in spans)
        spent["wall"] = (last - first).total_seconds()
    if run and api_time(run.get("start_date")) and api_time(run.get("end_date")):
        spent["wall"] = (api_time(run["end_date"]) - api_time(run["start_date"])).total_seconds()  # type: ignore[operator]
    return spent


def months_of(year: int, month: str | None) -> list[dt.date]:
    if month:
        return [dt.date.fromisoformat(f"{month}-01")]
    return [dt.date(year, m, 1) for m in range(1, 13)]


def wait_for_dag(api: Api, timeout: float = 300) -> None:
    """Until the dag-processor has parsed the DAG (or reported why it cannot)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        errors = api.import_errors()
        if errors:
            raise RuntimeError("the DAG does not import:\n" + "\n".join(e.get("stack_trace", "") for e in errors))
        if api.dag():
            return
        time.sleep(2)
    raise TimeoutError(f"the dag-processor did not parse {DAG_ID} in {timeout:.0f} s")


def submit(api: Api, months: list[dt.date]) -> int:
    """One backfill over ``months``: existing runs of those months are cleared and rerun.

    The scheduler starts no run of a paused DAG, backfills included, so the DAG is unpaused; its
    schedule ends with the reporting period, so that starts nothing else."""
    deadline = time.monotonic() + 180
    while config.LAST_MONTH and not api.get(f"/dags/{DAG_ID}/details").get("end_date"):
        if time.monotonic() > deadline:  # an older parse of the DAG, from before it had an end
            raise TimeoutError("the parsed DAG has no end date: the dag-processor has not re-parsed it")
        time.sleep(3)
    for backfill in api.get("/backfills", dag_id=DAG_ID, limit=100)["backfills"]:
        if not backfill.get("completed_at"):  # one active backfill per DAG: an interrupted `make run`'s
            api.call("PUT", f"/backfills/{backfill['id']}/cancel")
    api.patch(f"/dags/{DAG_ID}", {"is_paused": False})
    body = {
        "dag_id": DAG_ID,
        "from_date": f"{min(months).isoformat()}T00:00:00Z",
        "to_date": f"{max(months).isoformat()}T00:00:00Z",
        "max_active_runs": 1,
        "reprocess_behavior": "completed",
        "run_backwards": False,
        "dag_run_conf": {},
    }
    return int(api.post("/backfills", body)["id"])


def follow(
    api: Api,
    months: list[dt.date],
    since: dt.datetime,
    on_month: Callable[[dt.date, str, list[dict[str, Any]], dict[str, Any]], None],
    say: Callable[[str], None] = print,
) -> dict[dt.date, str]:
    """Poll the months' runs until each has finished after ``since``; returns each month's state."""
    states: dict[dt.date, str] = {}
    quiet_since = time.monotonic()
    while len(states) < len(months):
        runs = {
            api_time(r["logical_date"]).date(): r  # type: ignore[union-attr]
            for r in api.runs(logical_date_gte=f"{min(months)}T00:00:00Z", logical_date_lte=f"{max(months)}T00:00:00Z")
            if r.get("logical_date")
        }
        for month in months:
            run = runs.get(month)
            if month in states or not run or run["state"] not in FINISHED:
                continue
            ended = api_time(run.get("end_date"))
            if ended is None or ended < since:
                continue  # an earlier run of the month, not yet cleared by the backfill
            states[month] = run["state"]
            on_month(month, run["state"], api.task_instances(run["dag_run_id"]), run)
            quiet_since = time.monotonic()
        if len(states) < len(months) and time.monotonic() - quiet_since >= QUIET_SECONDS:
            say("    … " + now_running(api, runs, months, states))
            quiet_since = time.monotonic()
        time.sleep(3)
    return states


def now_running(api: Api, runs: dict[dt.date, dict[str, Any]], months: list[dt.date], done: dict) -> str:
    for month in months:
        run = runs.get(month)
        if month in done or not run or run["state"] != "running":
            continue
        tis = api.task_instances(run["dag_run_id"])
        active = sorted(
            t["task_id"] + (f"[{t['map_index']}]" if t.get("map_index", -1) >= 0 else "")
            for t in tis
            if t.get("state") in ("running", "queued", "scheduled")
        )
        finished = sum(1 for t in tis if t.get("state") in ("success", "failed", "skipped", "upstream_failed"))
        shown = ", ".join(active[:4]) + (f" (+{len(active) - 4})" if len(active) > 4 else "")
        return f"{month:%Y-%m}: {finished}/{len(tis)} tasks done; now {shown or 'scheduling'}"
    return "waiting for the scheduler"
