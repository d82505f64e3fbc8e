"""Command line behind the Makefile: ``python -m include.cli <command>``.

up          start (or find) the warehouse and create roles, schemas, tables
stop        stop the embedded server
run         run the monthly pipeline through Airflow for every month of 2021
ingest      load months of the sample feeds into raw only (no DAG, no dbt): for developing models
psql-env    print PG* variables for psql as a role (used by ``make psql``)
rules       compile expectations/rules/*.yml into the GX context
docs        build the dbt docs (and serve them with --serve)
explain     how a published figure was made, as the auditor reads it (``make explain``)
report      write the auditor's HTML report of a month (and rebuild the GX Data Docs)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from include import config
from include.dbt_env import OFFLINE, dbt_env


def airflow_env() -> dict[str, str]:
    """Airflow 3 with its own home in the project's state folder (SQLite metadata)."""
    return {
        **OFFLINE,
        "AIRFLOW_HOME": str(config.AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(config.PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(config.AIRFLOW_HOME / "logs"),
        "PYTHONPATH": str(config.PROJECT_ROOT),
    }


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def prepare_runtime(*, parse: bool = True) -> None:
    """Warehouse up, dbt and Airflow configured, the dbt manifest compiled, Airflow's DB migrated."""
    from include.warehouse.setup import ensure_ready  # noqa: PLC0415

    server = ensure_ready()
    os.environ.update(dbt_env(server))
    os.environ.update(airflow_env())
    if parse:
        subprocess.run([_bin("dbt"), "parse", "--quiet"], cwd=config.DBT_PROJECT_DIR, check=True)
        # Seeds and the staging views (over raw) are created once here; the monthly DAG runs core and marts.
        for step in (["seed"], ["run", "--select", "path:models/staging"]):
            subprocess.run([_bin("dbt"), *step, "--quiet"], cwd=config.DBT_PROJECT_DIR, check=True)
    marker = config.AIRFLOW_HOME / ".migrated"
    if not marker.exists():
        subprocess.run([_bin("airflow"), "db", "migrate"], check=True, capture_output=True)
        marker.touch()


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


def load_dag(dag_id: str = "shangqiu_monthly"):  # type: ignore[no-untyped-def]
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location(dag_id, config.PROJECT_ROOT / "dags" / f"{dag_id}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, dag_id)()


STAGES = {
    "ingest": "ingest",
    "dbt": "dbt.",
    "gate": ("validate", "departments", "check", "publish"),
    "report": "report",
}


def _stage_seconds(run) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Seconds the run's task instances spent per stage (ingest, dbt, gate)."""
    spent = dict.fromkeys(STAGES, 0.0)
    for ti in run.get_task_instances():
        if ti.start_date and ti.end_date:
            for stage, prefix in STAGES.items():
                if ti.task_id.startswith(prefix):
                    spent[stage] += (ti.end_date - ti.start_date).total_seconds()
    return spent


def run_month(dag, month: dt.date, log: Path, timings: dict[str, float] | None = None) -> str:  # type: ignore[no-untyped-def]
    """One real Airflow DAG run for ``month``; returns the run's final state (``timings``: seconds per stage)."""
    import pendulum  # noqa: PLC0415

    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    logical = pendulum.datetime(following.year, following.month, 1, tz="UTC")
    with _output_to(log):
        run = dag.test(logical_date=logical, run_after=logical)
    if timings is not None:
        timings.update(_stage_seconds(run))
    return str(getattr(run, "state", run))


def run_month_in_subprocess(month: dt.date, log: Path, timings: dict[str, float]) -> str:
    """One month's DAG run in a fresh process, as an Airflow worker would run it.

    Many in-process dbt invocations in one long-lived process slow down steadily
    (about 1 s per task in the first month, 9 s by the eleventh), so each month
    gets its own interpreter.
    """
    result = subprocess.run(
        [sys.executable, "-m", "include.cli", "run-month", f"{month:%Y-%m}", "--log", str(log)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(result.stdout + result.stderr)
        return "error"
    state, spent = result.stdout.strip().splitlines()[-1].split(" ", 1)
    timings.update(json.loads(spent))
    return state


def cmd_run_month(args: argparse.Namespace) -> int:
    prepare_runtime(parse=False)
    timings: dict[str, float] = {}
    state = run_month(load_dag(), dt.date.fromisoformat(f"{args.month}-01"), Path(args.log), timings)
    print(state, json.dumps(timings))
    return 0


def ensure_samples() -> int:
    """Write the sample feeds once (deterministic; SQW_SAMPLE_SCALE, default 1); returns the file count."""
    from include.samples import generate_missing  # noqa: PLC0415

    return generate_missing(config.LANDING_DIR, scale=float(os.environ.get("SQW_SAMPLE_SCALE", "1")))


def cmd_ingest(args: argparse.Namespace) -> int:
    from include.pipeline import feed_names, ingest_feed  # noqa: PLC0415

    prepare_runtime(parse=False)
    print(f"» sample feeds: {ensure_samples()} file(s) written to {config.LANDING_DIR}", flush=True)
    for month in args.months:
        for feed in args.feed or feed_names():
            result = ingest_feed(feed, dt.date.fromisoformat(f"{month}-01"), "cli-ingest")
            rows = sum(sum((d["rows"] or {}).values()) for d in result["deliveries"])
            print(f"  {month} {feed:<22} {rows:>9} rows", flush=True)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from include.report import month_line, summary  # noqa: PLC0415

    started = time.monotonic()
    print("» warehouse: starting and bootstrapping", flush=True)
    prepare_runtime()
    print(f"» sample feeds: {ensure_samples()} file(s) written to {config.LANDING_DIR}", flush=True)
    log = config.STATE_DIR / "logs" / "run.log"
    months = (
        [dt.date(config.YEAR, m, 1) for m in range(1, 13)]
        if not args.month
        else [dt.date.fromisoformat(f"{args.month}-01")]
    )
    timings: dict[dt.date, dict[str, float]] = {}
    for done, month in enumerate(months, start=1):
        tick = time.monotonic()
        timings[month] = {}
        state = run_month_in_subprocess(month, log, timings[month])
        spent = timings[month]
        print(
            f"  [{done:2d}/{len(months)}] {month:%Y-%m}  {state:<8} {month_line(month)}"
            f"  ({time.monotonic() - tick:.0f} s: ingest {spent.get('ingest', 0):.0f}, dbt {spent.get('dbt', 0):.0f},"
            f" gate {spent.get('gate', 0):.0f})",
            flush=True,
        )
    print(summary(months, log, time.monotonic() - started, timings), flush=True)
    return 0


def cmd_up(_: argparse.Namespace) -> int:
    from include.warehouse.setup import ensure_ready  # noqa: PLC0415

    server = ensure_ready()
    where = "embedded" if server.embedded else "configured"
    print(f"warehouse ({where}) at {server.host}:{server.port}/{server.database}")
    return 0


def cmd_stop(_: argparse.Namespace) -> int:
    from include.warehouse import embedded  # noqa: PLC0415
    from include.warehouse.connection import configured_url  # noqa: PLC0415

    if configured_url():
        print("a configured warehouse is in use: nothing to stop")
        return 0
    print("stopped" if embedded.stop() else "not running")
    return 0


def cmd_psql_env(args: argparse.Namespace) -> int:
    from include.warehouse import embedded  # noqa: PLC0415
    from include.warehouse.setup import ensure_ready  # noqa: PLC0415

    if args.role not in config.ROLES:
        print(f"unknown role {args.role!r}; one of {', '.join(config.ROLES)}", file=sys.stderr)
        return 2
    server = ensure_ready()
    psql = "psql"
    if server.embedded or not _on_path("psql"):
        psql = str(embedded.instance().bindir / "psql")
        if not Path(psql).exists():
            psql = str((embedded.wheel_bindir() or Path("/usr/bin")) / "psql")
    for key, value in {**server.libpq_env(args.role), "SQW_PSQL": psql}.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _on_path(program: str) -> bool:
    import shutil  # noqa: PLC0415

    return shutil.which(program) is not None


def cmd_rules(_: argparse.Namespace) -> int:
    import psycopg  # noqa: PLC0415

    from include.gate import gate, gx_context  # noqa: PLC0415
    from include.warehouse.setup import ensure_ready  # noqa: PLC0415

    server = ensure_ready()
    os.environ.update(dbt_env(server))
    subprocess.run([_bin("dbt"), "run", "--quiet"], cwd=config.DBT_PROJECT_DIR, check=True)
    with psycopg.connect(server.url("transformer"), autocommit=True) as conn:
        gate.prepare_views(conn, None)
    gx_context.compile_context(server.url("transformer", driver="postgresql+psycopg2"))
    print(f"compiled {len(gx_context.relations())} suite(s) into {config.GX_ROOT_DIR / 'gx'}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    import psycopg  # noqa: PLC0415

    from include.explain import MANIFEST, explain, render  # noqa: PLC0415
    from include.warehouse.setup import ensure_ready  # noqa: PLC0415

    server = ensure_ready()
    if not MANIFEST.exists():
        env = {**os.environ, **dbt_env(server)}
        subprocess.run([_bin("dbt"), "parse", "--quiet"], cwd=config.DBT_PROJECT_DIR, env=env, check=True)
    with psycopg.connect(server.url("auditor")) as conn:
        conn.read_only = True
        try:
            print(render(explain(conn, args.mart, args.county, args.month, args.metric)))
        except (LookupError, ValueError) as error:
            print(f"make explain: {error}", file=sys.stderr)
            return 2

    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    """``dbt docs generate`` (needs the warehouse: the catalog reads the built relations), then serve."""
    server = prepare_runtime_for_dbt()
    dbt = [_bin("dbt"), "docs"]
    subprocess.run([*dbt, "generate", "--quiet"], cwd=config.DBT_PROJECT_DIR, env=server, check=True)
    print(f"dbt docs: {config.DBT_PROJECT_DIR / 'target' / 'index.html'}")
    if args.serve:
        subprocess.run(
            [*dbt, "serve", "--host", "127.0.0.1", "--port", "8081", "--no-browser"],
            cwd=config.DBT_PROJECT_DIR,
            env=server,
            check=False,
        )
    return 0


def prepare_runtime_for_dbt() -> dict[str, str]:
    """The environment dbt needs for this warehouse (started if embedded)."""
    from include.warehouse.setup import ensure_ready  # noqa: PLC0415

    return {**os.environ, **dbt_env(ensure_ready())}


def cmd_report(args: argparse.Namespace) -> int:
    from include.audit_report import write_report  # noqa: PLC0415
    from include.warehouse.setup import ensure_ready  # noqa: PLC0415

    ensure_ready()
    started = time.monotonic()
    path = write_report(dt.date.fromisoformat(f"{args.month}-01"))
    print(f"{path}  ({time.monotonic() - started:.1f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m include.cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--month", help="only this month (YYYY-MM)")
    run.set_defaults(func=cmd_run)
    ingest = sub.add_parser("ingest")
    ingest.add_argument("months", nargs="+", help="YYYY-MM")
    ingest.add_argument("--feed", action="append", help="only this feed (repeatable)")
    ingest.set_defaults(func=cmd_ingest)
    one = sub.add_parser("run-month")
    one.add_argument("month", help="YYYY-MM")
    one.add_argument("--log", required=True)
    one.set_defaults(func=cmd_run_month)
    sub.add_parser("up").set_defaults(func=cmd_up)
    sub.add_parser("stop").set_defaults(func=cmd_stop)
    psql = sub.add_parser("psql-env")
    psql.add_argument("--role", default="bi")
    psql.set_defaults(func=cmd_psql_env)
    sub.add_parser("rules").set_defaults(func=cmd_rules)
    why = sub.add_parser("explain")
    why.add_argument("--mart", required=True, help="mart name, with or without the mart_ prefix")
    why.add_argument("--county", required=True, help="county name, code, or 商丘市")
    why.add_argument("--month", required=True, help="YYYY-MM")
    why.add_argument("--metric", required=True, help="a column of the mart")
    why.set_defaults(func=cmd_explain)
    docs = sub.add_parser("docs")
    docs.add_argument("--serve", action="store_true", help="serve on 127.0.0.1:8081 after generating")
    docs.set_defaults(func=cmd_docs)
    report = sub.add_parser("report")
    report.add_argument("--month", required=True, help="YYYY-MM")
    report.set_defaults(func=cmd_report)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
