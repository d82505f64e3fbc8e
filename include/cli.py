"""Command line behind the Makefile: ``python -m include.cli <command>``.

up          start (or find) the warehouse and create roles, schemas, tables
stop        stop the Airflow services and the embedded server
run         run 2021 (or --month) as a backfill under the Airflow scheduler, and follow it
airflow     start (or find) Airflow with the LocalExecutor; print the UI's URL and login
cluster     start (or find) Redis, Airflow and two Celery workers; print the UI's URL and login
dag-test    one month through dag.test(), without the scheduler (a developer tool)
manifest    build the dbt manifest the DAG renders from
ingest      load months of the sample feeds into raw only (no DAG, no dbt): for developing models
psql-env    print PG* variables for psql as a role (used by ``make psql``)
rules       compile expectations/rules/*.yml into the GX context
docs        build the dbt docs (and serve them with --serve)
explain     how a published figure was made, as the auditor reads it (``make explain``)
report      write the auditor's report of a month: HTML, xlsx and PDF (and rebuild the GX Data Docs)
export      a published mart's month as a spreadsheet-safe CSV, read as the BI role (``make export``)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from include import config
from include.dbt_env import DBT, build_manifest, dbt_env


def cmd_dag_test(args: argparse.Namespace) -> int:
    """A developer tool: one month through ``dag.test()``, without the scheduler."""
    from include.bootstrap import prepare_developer_runtime  # noqa: PLC0415
    from include.deploy.runner import load_dag, stage_seconds, test_month  # noqa: PLC0415

    prepare_developer_runtime()
    print(f"» sample feeds: {ensure_samples()} file(s) in {config.LANDING_DIR}", flush=True)
    tis: list[dict[str, Any]] = []
    started = time.monotonic()
    log = config.STATE_DIR / "logs" / "dag-test.log"
    state = test_month(load_dag(), dt.date.fromisoformat(f"{args.month}-01"), log, tis)
    print(f"{args.month} {state} in {time.monotonic() - started:.0f} s: {stage_seconds(tis)}  (log: {log})")
    if args.json:
        print(json.dumps(tis))
    return 0 if state == "success" else 1


def ensure_samples() -> int:
    """Write the sample feeds once (deterministic; SQW_SAMPLE_SCALE, default 1); returns the file count."""
    import samples  # noqa: PLC0415

    return len(samples.generate(config.LANDING_DIR, scale=float(os.environ.get("SQW_SAMPLE_SCALE", "1"))))


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load months of the sample feeds into raw, without Airflow (for developing models)."""
    from include.bootstrap import ensure_ready  # noqa: PLC0415
    from include.pipeline import feed_names, ingest_feed  # noqa: PLC0415

    loader = ensure_ready().url("loader")
    print(f"» sample feeds: {ensure_samples()} file(s) written to {config.LANDING_DIR}", flush=True)
    for month in args.months:
        for feed in args.feed or feed_names():
            result = ingest_feed(feed, dt.date.fromisoformat(f"{month}-01"), "cli-ingest", loader)
            rows = sum(sum((d["rows"] or {}).values()) for d in result["deliveries"])
            print(f"  {month} {feed:<22} {rows:>9} rows", flush=True)
    return 0


def cmd_airflow(args: argparse.Namespace) -> int:
    """Start (or find) the Airflow services and say where the UI is."""
    from include.deploy import services  # noqa: PLC0415

    deployment = services.start(args.shape)
    print("\n".join([f"» running: {', '.join(services.SHAPES[deployment.shape])}", *deployment.login_lines()]))
    print(f"Logs: {services.LOG_DIR}/<service>.log; stop everything with: make stop")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The months of 2021 (or one) as a backfill under the scheduler, followed to the end."""
    from include.deploy import runner, services  # noqa: PLC0415
    from include.report import summary  # noqa: PLC0415

    started = time.monotonic()
    months = runner.months_of(config.YEAR, args.month)
    done = runner.run_months(months, ensure_samples)
    timings = {month: run["spent"] for month, run in done.items()}
    print(summary(months, services.LOG_DIR / "scheduler.log", time.monotonic() - started, timings), flush=True)
    broken = runner.broken_runs(done)
    if broken:
        print("Runs that failed for another reason than the gate:\n  " + "\n  ".join(broken), flush=True)
    return 1 if broken else 0


def cmd_up(_: argparse.Namespace) -> int:
    from include.bootstrap import ensure_ready  # noqa: PLC0415

    server = ensure_ready()
    where = "embedded" if server.embedded else "configured"
    print(f"warehouse ({where}) at {server.host}:{server.port}/{server.database}")
    return 0


def cmd_stop(_: argparse.Namespace) -> int:
    from include.bi import superset  # noqa: PLC0415
    from include.deploy import services  # noqa: PLC0415
    from include.warehouse import embedded  # noqa: PLC0415
    from include.warehouse.connection import configured_url  # noqa: PLC0415

    print("superset: stopped" if superset.stop() else "superset: not running")
    stopped = services.stop()
    print(f"airflow: stopped {', '.join(stopped)}" if stopped else "airflow: not running")
    if configured_url():
        print("a configured warehouse is in use: nothing to stop")
        return 0
    print("stopped" if embedded.stop() else "not running")
    return 0


def cmd_psql_env(args: argparse.Namespace) -> int:
    from include.bootstrap import ensure_ready  # noqa: PLC0415
    from include.warehouse import embedded  # noqa: PLC0415

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

    from include.bootstrap import ensure_ready  # noqa: PLC0415
    from include.gate import gate, gx_context  # noqa: PLC0415

    server = ensure_ready()
    env = {**os.environ, **dbt_env(server)}
    for command in ("seed", "run"):  # the relations the rules read, also on a fresh warehouse
        subprocess.run([DBT, command, "--quiet"], cwd=config.DBT_PROJECT_DIR, env=env, check=True)
    with psycopg.connect(server.url("transformer"), autocommit=True) as conn:
        gate.prepare_views(conn)
    gx_context.compile_context(server.url("transformer", driver="postgresql+psycopg2"))
    print(f"compiled {len(gx_context.relations())} suite(s) into {config.GX_ROOT_DIR / 'gx'}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    import psycopg  # noqa: PLC0415

    from include.bootstrap import ensure_ready  # noqa: PLC0415
    from include.explain import explain, render  # noqa: PLC0415

    server = ensure_ready()
    if not config.DBT_MANIFEST.exists():
        build_manifest()
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
    from include.bootstrap import ensure_ready  # noqa: PLC0415

    env = {**os.environ, **dbt_env(ensure_ready())}
    dbt = [DBT, "docs"]
    subprocess.run([*dbt, "generate", "--quiet"], cwd=config.DBT_PROJECT_DIR, env=env, check=True)
    print(f"dbt docs: {config.DBT_PROJECT_DIR / 'target' / 'index.html'}")
    if args.serve:
        subprocess.run(
            [*dbt, "serve", "--host", "127.0.0.1", "--port", "8081", "--no-browser"],
            cwd=config.DBT_PROJECT_DIR,
            env=env,
            check=False,
        )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from include.audit_report import write_report  # noqa: PLC0415
    from include.bootstrap import ensure_ready  # noqa: PLC0415

    ensure_ready()
    started = time.monotonic()
    written = write_report(dt.date.fromisoformat(f"{args.month}-01"))
    print("\n".join(str(path) for path in (written.html, written.xlsx, written.pdf) if path))
    seconds = ", ".join(f"{part} {spent:.1f}" for part, spent in written.seconds.items())
    print(f"({time.monotonic() - started:.1f} s: {seconds})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import psycopg  # noqa: PLC0415

    from include.bootstrap import ensure_ready  # noqa: PLC0415
    from include.export import export_csv  # noqa: PLC0415

    server = ensure_ready()
    name = args.mart if args.mart.startswith("mart_") else f"mart_{args.mart}"
    out = Path(args.out) if args.out else config.STATE_DIR / "exports" / f"{name}_{args.month}.csv"
    with psycopg.connect(server.url("bi")) as conn:
        conn.read_only = True
        try:
            rows = export_csv(conn, name, args.month, out, chinese=args.chinese)
        except (LookupError, ValueError) as error:
            print(f"make export: {error}", file=sys.stderr)
            return 2
    print(f"{out} ({rows} rows)")
    return 0


def cmd_bi(_: argparse.Namespace) -> int:
    from include.bi.superset import up  # noqa: PLC0415

    return up()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m include.cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--month", help="only this month (YYYY-MM)")
    run.set_defaults(func=cmd_run)
    for name, shape in (("airflow", "local"), ("cluster", "cluster")):
        sub.add_parser(name).set_defaults(func=cmd_airflow, shape=shape)
    one = sub.add_parser("dag-test")
    one.add_argument("month", help="YYYY-MM")
    one.add_argument("--json", action="store_true", help="also print the task instances as JSON")
    one.set_defaults(func=cmd_dag_test)
    sub.add_parser("manifest").set_defaults(func=lambda _: print(build_manifest()) or 0)
    ingest = sub.add_parser("ingest")
    ingest.add_argument("months", nargs="+", help="YYYY-MM")
    ingest.add_argument("--feed", action="append", help="only this feed (repeatable)")
    ingest.set_defaults(func=cmd_ingest)
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
    export = sub.add_parser("export")
    export.add_argument("--mart", required=True, help="mart name, with or without the mart_ prefix")
    export.add_argument("--month", required=True, help="YYYY-MM")
    export.add_argument("--out", help="the CSV file (default: <state>/exports/<mart>_<month>.csv)")
    export.add_argument("--chinese", action="store_true", help="headers are the columns' Chinese names")
    export.set_defaults(func=cmd_export)
    sub.add_parser("bi").set_defaults(func=cmd_bi)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
