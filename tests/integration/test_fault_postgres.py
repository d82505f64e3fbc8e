"""Fault 1 (issue 11): PostgreSQL is killed (SIGKILL, every process of the server) in the middle of a load.

The month's microcredit workbook is loaded once cleanly; then a second load of the same delivery is
stopped at a fault point inside its COPY, in a process of its own, and the server is killed under it.
After the restart the first load is there whole (the second one's rows are nowhere), and a rerun ends
with the clean run's counts.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
DECEMBER = dt.date(2021, 12, 1)
FEED = "microcredit"


def _state(conn) -> dict[str, object]:
    loads = conn.execute(
        """select load_id, version, status, is_current, detail_rows, control_rows from ops.loads
           where feed = %s and feed_month = %s order by load_id""",
        [FEED, DECEMBER],
    ).fetchall()
    raw = {
        table: conn.execute(
            f"select _load_id, count(*) from raw.{table} where _feed_month = %s group by 1 order by 1", [DECEMBER]
        ).fetchall()
        for table in ("microcredit_loans", "microcredit_control_totals")
    }
    return {"loads": loads, "raw": raw}


def _alive(pid: int) -> bool:
    """Still in the process table (a zombie too: PostgreSQL's lock file check would take it for a server)."""
    return Path(f"/proc/{pid}").exists()


def test_a_load_killed_with_postgresql_leaves_nothing_partial_and_reruns_to_the_clean_counts(warehouse, landing):
    from include import config, faults
    from include.deploy import services
    from include.pipeline import ingest_feed
    from include.warehouse import embedded

    clean = ingest_feed(FEED, DECEMBER, "fault-pg-clean")
    assert [d["status"] for d in clean["deliveries"]] == ["loaded"]
    with _admin(warehouse) as conn:
        after_clean = _state(conn)

    faults.arm("load:copying")
    load = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import datetime as d; from include.pipeline import ingest_feed; "
            f"ingest_feed({FEED!r}, d.date(2021, 12, 1), 'fault-pg-killed')",
        ],
        cwd=config.PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        reached = faults.wait_reached("load:copying", 300)
        assert reached["pid"] == load.pid
        postmaster = int((config.PGDATA / "postmaster.pid").read_text().split()[0])
        victims = [postmaster, *services.descendants(postmaster)]
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in victims) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        faults.disarm("load:copying")
        output = load.communicate(timeout=120)[0].decode(errors="replace")
        embedded.start(config.PGDATA)  # crash recovery: the killed transaction is rolled back
    assert load.returncode != 0, output  # the load died with its server: it did not report success
    with _admin(warehouse) as conn:
        assert _state(conn) == after_clean  # the clean load is whole; nothing of the killed one is visible
    rerun = ingest_feed(FEED, DECEMBER, "fault-pg-rerun")
    assert [d["status"] for d in rerun["deliveries"]] == ["loaded"]
    assert rerun["deliveries"][0]["rows"] == clean["deliveries"][0]["rows"]
    with _admin(warehouse) as conn:
        assert _state(conn) == after_clean


def _admin(warehouse):
    import psycopg

    return psycopg.connect(warehouse.url("admin"), autocommit=True)
