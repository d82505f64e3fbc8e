"""Test session set-up: an isolated state folder, so tests never touch `make run`'s warehouse.

The environment is fixed here, before anything imports include.config or airflow.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.setdefault("SQW_STATE_DIR", str(ROOT / ".local" / "test")))
os.environ.setdefault("SQW_LANDING_DIR", str(STATE / "landing"))
# The test warehouse is wiped at every session: it need not force its writes to disk (include/warehouse/embedded.py).
os.environ.setdefault("SQW_PG_THROWAWAY", "1")
from include.dbt_env import OFFLINE  # noqa: E402  (here: include.config reads the two folders above)

os.environ.update(
    {
        "AIRFLOW_HOME": str(STATE / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        **OFFLINE,
    }
)


def pytest_sessionstart(session: object) -> None:
    """Start from nothing: stop a server left by an interrupted session, then wipe the state."""
    if (STATE / "pgdata" / "PG_VERSION").exists():
        from include.warehouse import embedded

        embedded.stop(STATE / "pgdata")
    if STATE.exists() and not os.environ.get("SQW_KEEP_TEST_STATE"):
        shutil.rmtree(STATE)


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    if (STATE / "pgdata" / "PG_VERSION").exists():
        from include.warehouse import embedded

        embedded.stop(STATE / "pgdata")


_REPORTED_AT_ONCE = 5  # failures told the moment they happen, beside the progress dots
_told: list[str] = []
_session_config: Any = None


def pytest_configure(config: pytest.Config) -> None:
    global _session_config  # noqa: PLW0603
    _session_config = config


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """The first failures, at once and in one line each: a run that is cut off (CI's time limit) never
    reaches its summary, and what broke first is what explains the rest."""
    if not report.failed or _REPORTED_AT_ONCE <= len(_told):
        return
    _told.append(report.nodeid)
    crash = getattr(report.longrepr, "reprcrash", None)
    what = (crash.message if crash else str(report.longrepr)).strip().splitlines() or [""]
    free = shutil.disk_usage(STATE.parent if STATE.parent.exists() else ROOT).free // 2**20
    line = f"!! {report.nodeid} ({report.when}): {what[0][:300]}  [disk free {free:,} MiB]"
    reporter = _session_config.pluginmanager.get_plugin("terminalreporter") if _session_config else None
    if reporter:
        reporter.write_line("")
        reporter.write_line(line)


@pytest.fixture(scope="session")
def warehouse() -> Any:
    """The embedded warehouse of the test state folder, bootstrapped, with ``dag.test()``'s runtime ready."""
    from include.bootstrap import prepare_developer_runtime

    return prepare_developer_runtime()


@pytest.fixture(scope="session")
def landing(warehouse: Any) -> Any:
    """December's sample microcredit workbook (full scale: it must reproduce the published table)."""
    import samples
    from include import config

    samples.generate(config.LANDING_DIR, months=[12], feeds=["microcredit"], rewrite=True)
    return config.LANDING_DIR


@pytest.fixture(scope="session")
def run_dag(warehouse: Any, landing: Any) -> Callable[..., str]:
    """Run the monthly DAG for a month through a real Airflow DAG run (``dag.test()``); returns its final state
    (``tis``, when given, is filled with the run's task instances)."""
    from include import config
    from include.deploy.runner import load_dag, test_month

    dag = load_dag()

    def run(month: dt.date, tis: list[dict[str, Any]] | None = None) -> str:
        return test_month(dag, month, config.STATE_DIR / "logs" / "test-runs.log", tis)

    return run


@pytest.fixture(scope="session")
def year_end(warehouse: Any, landing: Any, run_dag: Callable[..., str], smtp_sink: Any) -> dict[dt.date, str]:
    """Every feed's November and December 2021 files at scale 1 (those not already there), then both months
    through real DAG runs: month -> the run's final state. One year run per session, shared by
    tests/integration/test_year_2021.py (the figures, on the clean state) and test_year_2021_reruns.py (the
    reruns, after it)."""
    import samples
    from include import config

    samples.generate(config.LANDING_DIR, months=[11, 12])
    return {month: run_dag(month) for month in (dt.date(2021, 11, 1), dt.date(2021, 12, 1))}


@pytest.fixture(scope="session")
def december_published(warehouse: Any, run_dag: Callable[[dt.date], str]) -> None:
    """December 2021 published by a real DAG run (reused when an earlier module already published it)."""
    december = dt.date(2021, 12, 1)
    with psycopg.connect(warehouse.url("admin")) as conn:
        done = conn.execute(
            "select 1 from dq.publications where month_start = %s and status = 'published'", [december]
        ).fetchone()
    if not done:
        assert run_dag(december) == "success"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium and a CJK font (installed when missing and we are root); the tests that need a browser
    skip, saying why, when they cannot be had."""
    from include.deploy import packages

    found = packages.available("chromium", "font:zh")
    if not found:
        pytest.skip("chromium or a CJK font is not installed and installing them needs root: see the line above")
    return found["chromium"]


@pytest.fixture
def connect(warehouse: Any) -> Iterator[Callable[[str], psycopg.Connection]]:
    opened: list[psycopg.Connection] = []

    def open_as(role: str) -> psycopg.Connection:
        conn = psycopg.connect(warehouse.url(role), autocommit=True)
        opened.append(conn)
        return conn

    yield open_as
    for conn in opened:
        conn.close()


class _SmtpSink:
    """A minimal SMTP server on 127.0.0.1 that keeps every message it is given (no network beyond loopback)."""

    def __init__(self) -> None:
        import socketserver
        import threading

        self.messages: list[str] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 sink\r\n")
                while line := self.rfile.readline():
                    verb = line.decode("utf-8", "replace").strip().upper()
                    if verb.startswith("DATA"):
                        self.wfile.write(b"354 go\r\n")
                        body = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            body.append(chunk.decode("utf-8", "replace"))
                        sink.messages.append("".join(body))
                        self.wfile.write(b"250 queued\r\n")
                    elif verb.startswith("QUIT"):
                        self.wfile.write(b"221 bye\r\n")
                        return
                    elif verb.startswith("EHLO"):
                        self.wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[_SmtpSink]:
    """Alerts e-mail the run's owner through Airflow's SMTP connection, here pointed at a local sink."""
    sink = _SmtpSink()
    saved = {key: os.environ.get(key) for key in ("AIRFLOW_CONN_SMTP_DEFAULT", "SQW_ALERT_EMAIL")}
    os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = f"smtp://127.0.0.1:{sink.port}?disable_ssl=true&disable_tls=true"
    os.environ["SQW_ALERT_EMAIL"] = "owner@example.invalid"
    yield sink
    sink.server.shutdown()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
