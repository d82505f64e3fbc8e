"""November and December 2021 again, after the year run's figure tests (issue 11, fault cases 4, 5, 6 and 9).

On the real stack: real DAG runs (``run_dag``), real dbt, GX and PostgreSQL. In order, each on what the one
before left: a department restates November (a corrected file, version 2) and November and December are
rerun while BI and auditor readers read every table they may; December is rerun once more and must leave the
marts identical; then a model gains a column and the month is published through the gate again. The module
sorts after test_year_2021.py, whose figure tests read the clean state first.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.rows import dict_row

from include import config
from include.dbt_env import dbt_env
from include.gate.checksum import VOLATILE, mart_checksums, table_checksum

pytestmark = pytest.mark.integration
NOVEMBER, DECEMBER = dt.date(2021, 11, 1), dt.date(2021, 12, 1)
FEED, PROGRAM, SUBSIDY = "disability_subsidies", "disability_living", "困难残疾人生活补贴"
DELTA = 30  # 元 the corrected payment adds (a real correction's size: one month of one person's subsidy)
READER_ROLES = ("bi", "auditor", "bi", "auditor")
# What a reader may get instead of rows: its lock wait timed out or it was chosen in a lock cycle (its role's
# settings, include/warehouse/bootstrap.py), or a relation it listed was dropped (a dbt swap) before it read it.
READER_ERRORS = (errors.LockNotAvailable, errors.DeadlockDetected, errors.UndefinedTable)


def _rows(conn: psycopg.Connection, relation: sql.Composable, columns: list[str]) -> list[str]:
    """Every row of ``relation`` (``columns`` of it), as text, sorted: what two versions of a mart compare by."""
    row = sql.SQL("row({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    query = sql.SQL("select {} from {} order by 1").format(row, relation)
    return [text for (text,) in conn.execute(query).fetchall()]


def _mart_columns(conn: psycopg.Connection, mart: str) -> list[str]:
    found = conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position",
        [config.SCHEMA_PUBLISHED, mart],
    ).fetchall()
    return [name for (name,) in found if name not in VOLATILE]


def _marts(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Every published mart with its columns (the run-id ones left out)."""
    return {mart: _mart_columns(conn, mart) for mart in mart_checksums(conn)}


def _subsidy(conn: psycopg.Connection, month: dt.date) -> dict[str, dict[str, Any]]:
    """The published living-subsidy rows of ``month`` by county name."""
    conn.row_factory = dict_row  # type: ignore[assignment]
    rows = conn.execute(
        "select * from marts.mart_subsidies where month_start = %s and program_code = %s", [month, PROGRAM]
    ).fetchall()
    conn.row_factory = psycopg.rows.tuple_row  # type: ignore[assignment]
    return {str(row["county_name"]): dict(row) for row in rows}


# --- the correction -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    county: str  # as the file names it (short: 永城)
    delta: int  # 元 added to one living-subsidy payment, and to the county's and the city's control total


def write_correction(folder: Path, month: dt.date) -> Correction:
    """The department's corrected delivery of ``month``, written as a department resubmits it: a copy of the
    landed CSV pair under a name of its own (``…_更正_明细.csv``), one payment raised by ``DELTA`` and the
    control totals with it."""
    stem = f"残疾人两项补贴_{month:%Y-%m}"
    detail, totals = (folder / f"{stem}_{sheet}.csv" for sheet in ("明细", "汇总"))
    with detail.open(encoding="utf-8-sig", newline="") as handle:
        title, header, *rows = list(csv.reader(handle))
    amount, kind, county = header.index("发放金额(元)"), header.index("补贴类型"), header.index("县(市、区)")
    target = next(i for i, row in enumerate(rows) if row[kind] == SUBSIDY)
    rows[target][amount] = str(int(rows[target][amount]) + DELTA)
    name = rows[target][county]
    with totals.open(encoding="utf-8-sig", newline="") as handle:
        total_title, total_header, *total_rows = list(csv.reader(handle))
    living = total_header.index("生活补贴金额(元)")
    for row in total_rows:
        if row[0] in (name, "商丘市"):
            row[living] = str(int(row[living]) + DELTA)
    for path, content in ((detail, [title, header, *rows]), (totals, [total_title, total_header, *total_rows])):
        corrected = path.with_name(path.name.replace(stem, f"{stem}_更正"))
        with corrected.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(content)
    return Correction(name, DELTA)


def seed_carry(conn: psycopg.Connection) -> dict[str, Decimal]:
    """January to October of the living subsidy, as the candidate mart's October partition: what November's
    indicator report declares for January to November, less November's month (the mart's). This module loads
    only November and December, and a year-to-date figure is null while a month of the year is missing; with
    the carry, November's and December's year to date are the city's, and the restatement must move them.
    Returns the carry by county code."""
    carry = dict(
        conn.execute(
            """select m.county_code, d.base_value - m.amount_yuan
               from candidate.mart_subsidies as m
               inner join staging.stg_indicator_report__indicators as d
                   on d.county_code = m.county_code and d.month_start = m.month_start
               where m.month_start = %s and m.program_code = %s and d.indicator_code = %s""",
            [NOVEMBER, PROGRAM, PROGRAM + "_amount"],
        ).fetchall()
    )
    counties = conn.execute("select count(*) from core.dim_county").fetchone()
    assert counties == (len(carry),), f"November declares {PROGRAM}_amount for {sorted(carry)} only"
    conn.execute(
        """create table if not exists candidate."mart_subsidies__p202110" partition of candidate.mart_subsidies
           for values from ('2021-10-01') to ('2021-11-01')"""
    )
    conn.execute("delete from candidate.mart_subsidies where month_start = '2021-10-01'")
    columns = _columns_of(conn, config.SCHEMA_CANDIDATE, "mart_subsidies")
    values = {"month_start": sql.SQL("'2021-10-01'::date"), "months_in_ytd": sql.SQL("10")}
    values |= {name: sql.SQL("null") for name in ("recipients", "person_times", "person_times_ytd", "recipients_ytd")}
    values["amount_yuan"] = values["amount_yuan_ytd"] = sql.SQL("(%(carry)s::jsonb ->> county_code)::numeric")
    conn.execute(
        sql.SQL(
            "insert into candidate.mart_subsidies ({}) select {} from candidate.mart_subsidies"
            " where month_start = %(month)s and program_code = %(program)s"
        ).format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.SQL(", ").join(values.get(c, sql.Identifier(c)) for c in columns),
        ),
        {"carry": json.dumps({k: str(v) for k, v in carry.items()}), "month": NOVEMBER, "program": PROGRAM},
    )
    return carry


def _columns_of(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    found = conn.execute(
        "select attname from pg_attribute where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped "
        "order by attnum",
        [f'"{schema}"."{table}"'],
    ).fetchall()
    return [name for (name,) in found]


# --- readers --------------------------------------------------------------------------------------------------


@dataclass
class Readers:
    """Threads that read, as BI and as auditor, every relation their role may read (from the catalog), a few per
    transaction in varying order with the published marts' month among them, as a BI tool does, until stopped.

    Each transaction is one snapshot (repeatable read): ``snapshots`` keeps, per transaction, each mart's
    checksum of ``month`` as that snapshot saw it; ``errors`` every error a reader got."""

    url: dict[str, str]
    month: dt.date
    stop: threading.Event = field(default_factory=threading.Event)
    snapshots: list[tuple[str, dict[str, tuple[int, str]]]] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    reads: Counter = field(default_factory=Counter)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Readers:
        for number, role in enumerate(READER_ROLES):
            thread = threading.Thread(target=self._loop, args=(role, number), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def finish(self) -> Readers:
        self.stop.set()
        for thread in self.threads:
            thread.join(120)
        return self

    def _loop(self, role: str, seed: int) -> None:
        rng = random.Random(seed)
        with psycopg.connect(self.url[role]) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            while not self.stop.is_set():
                try:
                    with conn.transaction():
                        self._one_transaction(conn, role, rng)
                except psycopg.Error as error:  # the test reads which: only READER_ERRORS may happen
                    self.errors.append((role, type(error).__name__, str(error).splitlines()[0]))
                    if conn.closed:
                        return

    def _one_transaction(self, conn: psycopg.Connection, role: str, rng: random.Random) -> None:
        readable = _readable(conn)
        marts = [(schema, name, cols) for schema, name, cols in readable if schema == config.SCHEMA_PUBLISHED]
        chosen = rng.sample(readable, min(4, len(readable))) + marts
        rng.shuffle(chosen)
        seen: dict[str, tuple[int, str]] = {}
        for schema, name, columns in chosen:
            if schema == config.SCHEMA_PUBLISHED and name not in seen:
                seen[name] = table_checksum(conn, schema, name, self.month)
            else:
                listed = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
                conn.execute(sql.SQL("select {} from {} limit 50").format(listed, sql.Identifier(schema, name)))
            self.reads[role] += 1
            time.sleep(rng.uniform(0, 0.02))
        self.snapshots.append((role, seen))


def _readable(conn: psycopg.Connection) -> list[tuple[str, str, list[str]]]:
    """Every table and view of the warehouse the session's role may read, with the columns it may read."""
    rows = conn.execute(
        """select n.nspname, c.relname,
                  array_agg(a.attname::text order by a.attnum)
                      filter (where has_column_privilege(c.oid, a.attnum, 'select'))
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
           join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
           where c.relkind in ('r', 'p', 'v', 'm') and n.nspname not in ('pg_catalog', 'information_schema')
             and n.nspname not like 'pg\\_%%' and has_schema_privilege(n.oid, 'usage')
             and has_any_column_privilege(c.oid, 'select')
           group by 1, 2 order by 1, 2"""
    ).fetchall()
    return [(schema, name, list(columns)) for schema, name, columns in rows if columns]


# --- the reruns -----------------------------------------------------------------------------------------------


@dataclass
class Reruns:
    """What the reruns left, step by step (what the tests read)."""

    before: dict[str, tuple[int, str]]  # C0: every mart after the year run
    before_rows: dict[str, list[str]]  # every mart's rows then
    columns: dict[str, list[str]]
    before_time: dt.datetime  # the database's clock before the restatement
    correction: Correction
    carry: dict[str, Decimal]  # January to October by county code (seed_carry)
    november_before: dict[str, dict[str, Any]]
    december_before: dict[str, dict[str, Any]]
    states: dict[str, str]
    tasks: dict[str, list[dict[str, Any]]]
    december_marts_before: dict[str, tuple[int, str]]  # December's rows of each mart, before its rerun
    december_marts_after: dict[str, tuple[int, str]]
    readers: Readers
    restated: dict[str, tuple[int, str]]  # every mart after the restatement
    twice: dict[str, tuple[int, str]]  # and after December once more
    run_log: str  # what the runs wrote to the test-run log and the server's log meanwhile
    server_log: str


def _month_marts(conn: psycopg.Connection, month: dt.date) -> dict[str, tuple[int, str]]:
    return {mart: table_checksum(conn, config.SCHEMA_PUBLISHED, mart, month) for mart in mart_checksums(conn)}


def _tail(path: Path, offset: int) -> str:
    with path.open(encoding="utf-8", errors="replace") as handle:
        handle.seek(offset)
        return handle.read()


@pytest.fixture(scope="module")
def reruns(year_end, warehouse, run_dag) -> Reruns:
    run_log, server_log = config.STATE_DIR / "logs" / "test-runs.log", config.STATE_DIR / "postgres.log"
    with psycopg.connect(warehouse.url("admin"), autocommit=True) as admin:  # the test server logs lock waits
        for setting, value in (("log_lock_waits", "on"), ("log_line_prefix", "%m [%p] %u ")):
            admin.execute(sql.SQL("alter system set {} = {}").format(sql.Identifier(setting), sql.Literal(value)))
        admin.execute("select pg_reload_conf()")
    offsets = (run_log.stat().st_size, server_log.stat().st_size)
    conn = psycopg.connect(warehouse.url("transformer"), autocommit=True)
    before, columns = mart_checksums(conn), _marts(conn)
    before_rows = {
        mart: _rows(conn, sql.Identifier(config.SCHEMA_PUBLISHED, mart), cols) for mart, cols in columns.items()
    }
    (before_time,) = conn.execute("select now()").fetchone()
    november_before, december_before = _subsidy(conn, NOVEMBER), _subsidy(conn, DECEMBER)
    carry = seed_carry(conn)
    time.sleep(1)  # the corrected files are younger than the landed ones, to the file system's clock too
    correction = write_correction(config.LANDING_DIR / FEED, NOVEMBER)
    states, tasks = {}, {}
    tasks["november"] = []
    states["november"] = run_dag(NOVEMBER, tasks["november"])
    december_marts_before = _month_marts(conn, DECEMBER)
    readers = Readers({role: warehouse.url(role) for role in set(READER_ROLES)}, DECEMBER).start()
    tasks["december"] = []
    try:
        states["december"] = run_dag(DECEMBER, tasks["december"])
    finally:
        readers.finish()
    december_marts_after, restated = _month_marts(conn, DECEMBER), mart_checksums(conn)
    tasks["twice"] = []
    states["twice"] = run_dag(DECEMBER, tasks["twice"])
    twice = mart_checksums(conn)
    conn.close()
    return Reruns(
        before, before_rows, columns, before_time, correction, carry, november_before, december_before, states, tasks,
        december_marts_before, december_marts_after, readers, restated, twice,
        _tail(run_log, offsets[0]), _tail(server_log, offsets[1]),
    )  # fmt: skip


def _failed_tasks(tasks: list[dict[str, Any]]) -> set[str]:
    return {ti["task_id"] for ti in tasks if ti["state"] not in ("success", "skipped")}


def test_the_reruns_fail_no_task_but_a_departments_check(reruns):
    """No load, model, validation, publication or report of the three reruns fails (nor fails once and is
    retried: the run log names no lock error); only departments' checks do, on the figures."""
    for run, tasks in reruns.tasks.items():
        assert tasks, run
        failed = _failed_tasks(tasks)
        assert {task.split(".")[-1] for task in failed} <= {"check"}, (run, failed)
        assert ("check" in failed) == (reruns.states[run] == "failed"), (run, reruns.states[run])
    assert "deadlock detected" not in reruns.run_log and "lock timeout" not in reruns.run_log


def test_the_same_month_twice_leaves_every_mart_identical(reruns):
    assert set(reruns.twice) == set(reruns.restated) and len(reruns.twice) >= 9
    assert reruns.twice == reruns.restated
    assert all(rows for rows, _ in reruns.twice.values()), "an empty mart proves nothing"


def test_a_restated_month_changes_its_figures_and_the_year_to_date_after_it(reruns, warehouse):
    """November's corrected payment moves November's figures of its county and of the city by the correction,
    and December's year to date with them; every other county keeps its figures. The November indicator report,
    declared before the correction, no longer matches: the gate says so, blaming the declared figure."""
    conn = psycopg.connect(warehouse.url("auditor"))
    november, december = _subsidy(conn, NOVEMBER), _subsidy(conn, DECEMBER)
    delta, before_n, before_d = reruns.correction.delta, reruns.november_before, reruns.december_before
    county = next(name for name in november if name.startswith(reruns.correction.county))
    city = next(name for name, row in november.items() if row["is_city"])
    assert set(november) == set(before_n) == set(december) and len(november) == 11
    for name, row in november.items():
        moved = delta if name in (county, city) else 0
        code = row["county_code"]
        assert row["amount_yuan"] - before_n[name]["amount_yuan"] == moved, name
        assert row["recipients"] == before_n[name]["recipients"], name
        assert row["amount_yuan_ytd"] == reruns.carry[code] + before_n[name]["amount_yuan"] + moved, name
        assert december[name]["amount_yuan"] == before_d[name]["amount_yuan"], name  # December's own month
        assert december[name]["amount_yuan_ytd"] == row["amount_yuan_ytd"] + december[name]["amount_yuan"], name
    assert (before_n[county]["amount_yuan_ytd"], before_d[county]["amount_yuan_ytd"]) == (None, None)  # C0: no carry
    changed = {mart for mart, sums in reruns.restated.items() if sums != reruns.before.get(mart)}
    assert "mart_subsidies" in changed and "mart_microcredit_league" not in changed, changed
    found = conn.execute(
        """with latest as (select max(gate_run_id) as id from dq.gate_runs where month_start = %s)
           select r.rule_id, f.county_code, f.measure, f.computed - f.declared, f.blame
           from dq.rule_runs as r join latest on r.gate_run_id = latest.id
           left join dq.rule_failures as f using (rule_run_id)
           where r.status <> 'passed' and r.severity = 'fail' order by 2""",
        [NOVEMBER],
    ).fetchall()
    codes = sorted(november[name]["county_code"] for name in (county, city))
    assert found == [
        ("indicators_declared_equal_computed", code, PROGRAM + "_amount", delta, "declared") for code in codes
    ]


def test_the_report_records_the_restatement(reruns, warehouse):
    from include.audit_report import gather

    with psycopg.connect(warehouse.url("auditor"), row_factory=dict_row) as conn:
        deliveries = [d for d in gather(conn, NOVEMBER)["deliveries"] if d["feed"] == FEED]
    latest = max(deliveries, key=lambda d: d["version"])
    assert latest["restated"] is True and latest["status"] == "loaded"
    assert "更正" in latest["file_name"] and latest["version"] == latest["previous_version"] + 1
    assert latest["previous_detail_rows"] == latest["detail_rows"] > 0  # one amount corrected, no row added
    assert [d["restated"] for d in deliveries if d is not latest] == [False] * (len(deliveries) - 1)


def test_as_published_before_the_restatement_returns_the_old_figures(reruns, warehouse):
    with psycopg.connect(warehouse.url("auditor")) as conn:
        for mart, columns in reruns.columns.items():
            as_of = sql.SQL("{}(%s)").format(sql.Identifier(config.SCHEMA_DQ, mart + "_as_of"))
            rows = _rows_at(conn, as_of, columns, reruns.before_time)
            assert rows == reruns.before_rows[mart], mart
        now = _rows_at(conn, sql.SQL("dq.mart_subsidies_as_of(%s)"), reruns.columns["mart_subsidies"], None)
        assert now != reruns.before_rows["mart_subsidies"], "the restatement is what is published now"


def _rows_at(
    conn: psycopg.Connection, function: sql.Composable, columns: list[str], at: dt.datetime | None
) -> list[str]:
    row = sql.SQL("row({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    query = sql.SQL("select {} from {} order by 1").format(row, function)
    return [text for (text,) in conn.execute(query, [at or dt.datetime.now(dt.UTC)]).fetchall()]


def test_readers_during_a_rerun_see_the_old_month_or_the_new_one_and_never_fail_the_pipeline(reruns):
    readers = reruns.readers
    before, after = reruns.december_marts_before, reruns.december_marts_after
    assert before["mart_subsidies"] != after["mart_subsidies"], "December's year to date changed"
    seen = Counter()
    for role, snapshot in readers.snapshots:
        assert set(snapshot) == set(before), role  # every mart, in every transaction of either role
        old = {mart for mart, sums in snapshot.items() if sums == before[mart]}
        new = {mart for mart, sums in snapshot.items() if sums == after[mart]}
        assert old | new == set(snapshot), f"{role} saw a December that is neither the old nor the new one"
        assert old == set(snapshot) or new == set(snapshot), f"{role} saw half a publication: {sorted(old ^ new)}"
        seen["new" if new == set(snapshot) else "old"] += 1
    assert seen["old"] > 0 and seen["new"] > 0, seen
    assert set(readers.reads) == {"bi", "auditor"} and min(readers.reads.values()) > 100, readers.reads
    kinds = Counter(kind for _, kind, _ in readers.errors)
    assert set(kinds) <= {kind.__name__ for kind in READER_ERRORS}, readers.errors[:5]
    print(
        f"reader transactions {len(readers.snapshots)} {dict(seen)}, reads {dict(readers.reads)}, errors {dict(kinds)}"
    )
    deadlocks = re.findall(r"\[\d+\] (\S+) ERROR:  deadlock detected", reruns.server_log)
    assert set(deadlocks) <= {config.ROLE_BI, config.ROLE_AUDITOR}, "the pipeline was chosen in a lock cycle"


# --- the lock cycle, alone ------------------------------------------------------------------------------------

CYCLE = sql.Identifier(config.SCHEMA_PUBLISHED, "zz_lock_cycle")
CYCLE_PARTITION = sql.Identifier(config.SCHEMA_PUBLISHED, "zz_lock_cycle__p1")


@pytest.fixture
def cycle_table(warehouse):
    """A month-partitioned table BI may read, as the marts and facts are."""
    with psycopg.connect(warehouse.url("transformer"), autocommit=True) as owner:
        owner.execute(sql.SQL("drop table if exists {}").format(CYCLE))
        owner.execute(sql.SQL("create table {} (m int) partition by range (m)").format(CYCLE))
        owner.execute(
            sql.SQL("create table {} partition of {} for values from (1) to (2)").format(CYCLE_PARTITION, CYCLE)
        )
        owner.execute(
            sql.SQL("grant select on {}, {} to {}").format(CYCLE, CYCLE_PARTITION, sql.Identifier(config.ROLE_BI))
        )
    yield
    with psycopg.connect(warehouse.url("transformer"), autocommit=True) as owner:
        owner.execute(sql.SQL("drop table if exists {}").format(CYCLE))


def _session(warehouse: Any, role: str, **settings: str) -> psycopg.Connection:
    """A login of ``role`` (its own settings), or with ``settings`` a session set up by the admin (deadlock_timeout
    is a superuser's setting) that then becomes ``role``."""
    if not settings:
        return psycopg.connect(warehouse.url(role))
    conn = psycopg.connect(warehouse.url("admin"))
    for name, value in settings.items():
        conn.execute("select set_config(%s, %s, false)", [name, value])
    conn.execute(sql.SQL("set role {}").format(sql.Identifier(config.ROLES[role])))
    conn.commit()
    return conn


def _in_thread(work) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            work()
            outcome["done"] = True
        except psycopg.Error as error:
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _wait_until_waiting(watcher: psycopg.Connection, pid: int) -> None:
    for _ in range(200):
        state = watcher.execute("select wait_event_type from pg_stat_activity where pid = %s", [pid]).fetchone()
        if state == ("Lock",):
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} never waited for a lock")


def _cycle(warehouse, take, reader_settings: dict[str, str], pipeline_settings: dict[str, str]):
    """The cycle a change of columns made with readers: a reader holds a month's partition; the pipeline
    locks the table (its partitions after it) and waits for that partition; the reader then reads the table.
    ``take(conn)`` is how the pipeline takes its lock. Returns the pipeline's and the reader's outcomes."""
    reader = _session(warehouse, "bi", **reader_settings)
    pipeline = _session(warehouse, "transformer", **pipeline_settings)
    watcher = psycopg.connect(warehouse.url("admin"), autocommit=True)
    try:
        reader.execute(sql.SQL("select * from {}").format(CYCLE_PARTITION))
        thread, outcome = _in_thread(lambda: take(pipeline))
        _wait_until_waiting(watcher, pipeline.info.backend_pid)
        read: dict[str, object] = {}
        try:
            reader.execute(sql.SQL("select * from {}").format(CYCLE))
            read["done"] = True
        except psycopg.Error as error:
            read["error"] = error
        reader.rollback()
        thread.join(60)
        return outcome, read
    finally:
        for conn in (pipeline, reader, watcher):
            conn.close()


def _plain_lock(conn: psycopg.Connection) -> None:  # what `alter table … add column` takes on a partitioned table
    conn.execute(sql.SQL("lock table {} in access exclusive mode").format(CYCLE))


def test_in_a_lock_cycle_the_role_settings_make_the_reader_the_one_that_errors(warehouse, cycle_table):
    """The worst order for a plain lock: the pipeline waits first. PostgreSQL breaks a cycle in the session
    whose deadlock_timeout expires first: with the roles' own settings (bootstrap.ROLE_SETTINGS) the reader's."""
    with psycopg.connect(warehouse.url("bi")) as bi, psycopg.connect(warehouse.url("transformer")) as transformer:
        reader_timeout = bi.execute("show deadlock_timeout").fetchone()
        pipeline_timeout = transformer.execute("show deadlock_timeout").fetchone()
    assert (reader_timeout, pipeline_timeout) == (("100ms",), ("10s",))
    pipeline, reader = _cycle(warehouse, _plain_lock, {}, {})
    assert pipeline == {"done": True}, pipeline
    assert isinstance(reader.get("error"), errors.DeadlockDetected), reader


def test_the_pipeline_locking_up_front_is_never_the_victim_even_where_the_reader_waits_longest(warehouse, cycle_table):
    """Settings turned the wrong way (the reader's deadlock check last, the pipeline's at the default 1 s):
    a plain lock makes the pipeline the victim; ``lock_up_front`` (the gate's and the dbt macro's) gives its
    locks back before its own check could run, so nothing fails and the pipeline gets its locks."""
    from include.gate.gate import lock_up_front

    wrong_way = ({"deadlock_timeout": "30s", "lock_timeout": "0"}, {"deadlock_timeout": "1s"})
    pipeline, reader = _cycle(warehouse, _plain_lock, *wrong_way)
    assert isinstance(pipeline.get("error"), errors.DeadlockDetected), pipeline  # what the old way risked
    pipeline, reader = _cycle(warehouse, lambda conn: lock_up_front(conn, [CYCLE]), *wrong_way)
    assert pipeline == {"done": True} and reader == {"done": True}, (pipeline, reader)


# --- a change of columns, last --------------------------------------------------------------------------------

DBT = str(Path(sys.executable).with_name("dbt"))
FACT, MART, ADDED = "fct_employment", "mart_employment", "zz_rerun_probe"


def _add_column(model: Path, expression: str) -> None:
    text = model.read_text(encoding="utf-8")
    assert text.rstrip().endswith("select * from final"), model
    model.write_text(
        text.rstrip().removesuffix("select * from final") + f"select final.*, {expression} as {ADDED}\nfrom final\n"
    )


def _history(conn: psycopg.Connection, columns: list[str], until: int) -> list[str]:
    """Every version of the mart's months published up to publication ``until``, with its publication."""
    versions = sql.SQL("(select * from {} where publication_id <= {}) as h").format(
        sql.Identifier(config.SCHEMA_DQ, MART + "__history"), sql.Literal(until)
    )
    return _rows(conn, versions, [*columns, "publication_id", "published_at"])


def test_a_model_that_gains_a_column_keeps_every_month_grants_history_and_as_of(reruns, warehouse, tmp_path):
    """A column added to a core fact and to a mart, built for December by dbt and published through the gate:
    the fact keeps November; BI reads the mart with its new column, and every other mart; the history and
    ``dq.<mart>_as_of`` still give what was published before."""
    from include.gate import gate
    from include.pipeline import validate_month

    admin = psycopg.connect(warehouse.url("admin"), autocommit=True)
    counts = "select month_start, count(*) from core.{} group by 1 order by 1"
    fact_months = admin.execute(sql.SQL(counts).format(sql.Identifier(FACT))).fetchall()
    columns = reruns.columns[MART]
    (last,) = admin.execute("select max(publication_id) from dq.publications").fetchone()
    history = _history(admin, columns, last)
    (changed_at,) = admin.execute("select now()").fetchone()
    mart_rows = _rows(admin, sql.Identifier(config.SCHEMA_PUBLISHED, MART), columns)

    project = tmp_path / "dbt_project"
    shutil.copytree(config.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    _add_column(project / "models" / "core" / f"{FACT}.sql", "1::integer")
    _add_column(project / "models" / "marts" / f"{MART}.sql", "final.month_start")
    built = subprocess.run(
        [DBT, "run", "--project-dir", str(project), "--profiles-dir", str(config.DBT_PROJECT_DIR),
         "--target-path", str(project / "target"), "--log-path", str(project / "logs"), "--select", FACT, MART,
         "--vars", f"{{month: '{DECEMBER}'}}", "--no-use-colors"],
        env={**os.environ, **dbt_env(warehouse)}, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:]
    verdict = gate.Verdict.from_dict(validate_month(DECEMBER, "reruns-schema-change"))
    with psycopg.connect(warehouse.url("transformer")) as conn:
        publication = gate.publish(conn, verdict, "reruns-schema-change")
    assert MART in publication.released, publication

    assert admin.execute(sql.SQL(counts).format(sql.Identifier(FACT))).fetchall() == fact_months
    added = sql.SQL("select month_start, count({}) from core.{} group by 1 order by 1").format(
        sql.Identifier(ADDED), sql.Identifier(FACT)
    )
    assert admin.execute(added).fetchall() == [(NOVEMBER, 0), (DECEMBER, dict(fact_months)[DECEMBER])]
    bi = psycopg.connect(warehouse.url("bi"))
    probe = sql.SQL("select distinct {} from marts.{} where month_start = %s").format(
        sql.Identifier(ADDED), sql.Identifier(MART)
    )
    assert bi.execute(probe, [DECEMBER]).fetchall() == [(DECEMBER,)]
    assert bi.execute(probe, [NOVEMBER]).fetchall() == [(None,)]  # earlier months read null
    for mart in reruns.columns:
        bi.execute(sql.SQL("select * from marts.{} limit 1").format(sql.Identifier(mart)))
    assert _rows(bi, sql.Identifier(config.SCHEMA_PUBLISHED, MART), columns) == mart_rows  # same figures
    assert _history(admin, columns, last) == history  # every earlier version kept, as it was
    as_of = _rows_at(admin, sql.SQL("dq.{}(%s)").format(sql.Identifier(MART + "_as_of")), columns, changed_at)
    assert as_of == mart_rows
    assert _rows_at(admin, sql.SQL("dq.{}(%s)").format(sql.Identifier(MART + "_as_of")), [ADDED], None)
