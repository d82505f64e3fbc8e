"""Running months of the DAG: ``make run`` submits them to the scheduler as a backfill and follows them to
the end (``run_months``); ``make dag-test`` and the tests run one in this process (``test_month``).

The year (or one month, ``make run MONTH=2021-03``) is one Airflow backfill with
``reprocess_behavior=completed``: a month that already ran is cleared and run again, visible
in the UI like any other run. The scheduler runs the months in order (one active run). While
they run this prints a line per finished month with its stage times, and every 30 s what is
running now.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from include import config
from include.deploy import packages, services
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


def run_months(months: list[dt.date], samples: Callable[[], int] | None = None) -> dict[dt.date, dict[str, Any]]:
    """Months as one backfill under the scheduler (LocalExecutor), followed to the end, a line per finished month;
    month -> its final state, task instances and stage seconds (``stage_seconds``). ``samples``: writes the
    sample feeds missing from the landing folder first, returns their file count (the benchmark's province
    month brings its own)."""
    from include.report import month_line  # noqa: PLC0415

    packages.available("chromium", "font:zh")  # for the reports' PDF: installed before the months run (as root)
    print("» warehouse and Airflow (LocalExecutor): starting or finding the services", flush=True)
    deployment = services.start("local")
    print("\n".join(deployment.login_lines()), flush=True)
    if samples:
        print(f"» sample feeds: {samples()} file(s) written to {config.LANDING_DIR}", flush=True)
    api = Api(deployment)
    wait_for_dag(api)
    since = dt.datetime.now(dt.UTC)
    backfill = submit(api, months)
    print(f"» backfill {backfill}: {len(months)} month(s), in order, one at a time; watch them in the UI", flush=True)
    done: dict[dt.date, dict[str, Any]] = {}

    def finished(month: dt.date, state: str, tis: list[dict[str, Any]], run: dict[str, Any]) -> None:
        spent = stage_seconds(tis, run)
        done[month] = {"state": state, "tis": tis, "spent": spent}
        stages = ", ".join(f"{stage} {spent.get(stage, 0):.0f}" for stage in STAGES)
        wall = spent.get("wall", 0)
        print(
            f"  {month:%Y-%m}  {state:<8} {month_line(month)}  ({wall:.0f} s: {stages};"
            f" airflow {wall - spent.get('busy', 0):.0f})",
            flush=True,
        )

    follow(api, months, since, finished)
    return done


def broken_runs(done: dict[dt.date, dict[str, Any]]) -> list[str]:
    """The months whose run failed for another reason than the gate's checks: month and failed tasks each."""
    broken = []
    for month, run in done.items():
        failed = sorted(str(t["task_id"]) for t in run["tis"] if t.get("state") in ("failed", "upstream_failed"))
        if [task for task in failed if task != "check"]:
            broken.append(f"{month:%Y-%m}: {', '.join(failed)}")
    return broken


def load_dag(dag_id: str = DAG_ID):  # type: ignore[no-untyped-def]
    """The DAG object of ``dags/<dag_id>.py``, for ``dag.test()``."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location(dag_id, config.PROJECT_ROOT / "dags" / f"{dag_id}.py")
    if not (spec and spec.loader):
        raise ImportError(dag_id)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, dag_id)()


def test_month(dag, month: dt.date, log: Path, tis: list[dict[str, Any]] | None = None) -> str:  # type: ignore[no-untyped-def]
    """One month through ``dag.test()`` (in this process, no scheduler; ``include.bootstrap.prepare_developer_runtime``
    first); returns the run's final state (``tis``: filled with its task instances, as the REST API gives them)."""
    import pendulum  # noqa: PLC0415

    logical = pendulum.datetime(month.year, month.month, 1, tz="UTC")  # as the scheduler's runs have it
    with _output_to(log):
        run = dag.test(logical_date=logical, run_conf={"month": f"{month:%Y-%m}"})
    if tis is not None:
        tis.extend(_ti_dict(ti) for ti in run.get_task_instances())
    return str(getattr(run, "state", run))


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """Send this process's stdout/stderr (Airflow's task logs) to ``log`` for the duration."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "a", encoding="utf-8") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _ti_dict(ti) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A task instance of ``dag.test()`` as the REST API gives one (what ``stage_seconds`` reads)."""

    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "state": str(ti.state),
        "queued_when": iso(ti.queued_dttm),
        "start_date": iso(ti.start_date),
        "end_date": iso(ti.end_date),
    }
