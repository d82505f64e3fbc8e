"""The auditor's report: one self-contained HTML page per month, ``<REPORTS_DIR>/<YYYY-MM>/index.html``.

Everything on it is read as the auditor role: the gate's decisions (``dq.publications``),
every rule of the month's latest gate run with each offending row traced to its source
file (``dq.rule_runs``, ``dq.rule_failures``, ``ops.loads``), the feed completeness grid
(``ops.feed_completeness``) and charts of the published marts. It links the Great
Expectations Data Docs, which it rebuilds from the validation results GX stored.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from jinja2 import Environment, PackageLoader, StrictUndefined
from psycopg.rows import dict_row

from include import charts, config
from include.gate.rules import parse
from include.warehouse.connection import server

FAILURES_SHOWN = 200  # offending rows listed per rule; the count says how many there were
CITY_NAME = "商丘市"


def write_report(month: dt.date, url: str | None = None) -> Path:
    """Render the report for ``month`` (whatever the gate decided) and return its path.

    ``url``: the auditor's connection (default: the configured or embedded warehouse).
    """
    with psycopg.connect(url or server().url("auditor"), row_factory=dict_row) as conn:
        facts = gather(conn, month)
    facts["data_docs"] = data_docs(facts["gate_run"]["checked_at"] if facts["gate_run"] else None)
    path = config.REPORTS_DIR / f"{month:%Y-%m}" / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(facts), encoding="utf-8")
    return path


def render(facts: dict[str, Any]) -> str:
    environment = Environment(loader=PackageLoader("include", "templates"), autoescape=True, undefined=StrictUndefined)
    environment.filters["num"] = number
    return environment.get_template("audit_report.html.j2").render(**facts)


def number(value: object) -> str:
    """Exact, without exponent or trailing zeros (48060, 24.41, -1); '—' for a missing value."""
    if value is None:
        return "—"
    text = format(Decimal(str(value)) if isinstance(value, float) else value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def gather(conn: psycopg.Connection[Any], month: dt.date) -> dict[str, Any]:
    """Everything the page shows for ``month``."""
    gate_run = conn.execute(
        """select run_id, max(checked_at) as checked_at from dq.rule_runs
           where month_start = %s and run_id = (
               select run_id from dq.rule_runs where month_start = %s order by rule_run_id desc limit 1)
           group by run_id""",
        [month, month],
    ).fetchone()
    rules = rule_runs(conn, month, gate_run["run_id"]) if gate_run else []
    return {
        "month": month,
        "counties": counties(),
        "grid_counties": {code: name for code, name in counties().items() if code != config.CITY_CODE},
        "decisions": conn.execute(
            """select publication_id, run_id, status, marts, held_back, source_files, rules_passed, rules_failed,
                      reason, decided_at
               from dq.publications where month_start = %s order by publication_id""",
            [month],
        ).fetchall(),
        "gate_run": gate_run,
        "rules": rules,
        "failures": failures(conn, month, rules),
        "completeness": completeness(conn, month),
        "charts": month_charts(conn, month),
    }


def rule_runs(conn: psycopg.Connection[Any], month: dt.date, run_id: str) -> list[dict[str, Any]]:
    return conn.execute(
        """select rule_run_id, rule_id, kind, relation, severity, status, owner, description_zh, description_en,
                  unexpected_count, error
           from dq.rule_runs where month_start = %s and run_id = %s
           order by status = 'passed', severity, rule_id""",
        [month, run_id],
    ).fetchall()


@cache
def counties() -> dict[str, str]:
    """County code to name, in the city's official order; the 商丘市 row last."""
    with open(config.REFERENCE_DIR / "ref_counties.csv", encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row["sort_order"]))
    return {row["county_code"]: row["county_name"] for row in rows}


@cache
def rule_feed_names() -> dict[str, frozenset[str]]:
    """Rule id to the names its source feeds may have: its rules file, and the feed of each staging model it reads."""
    found = {}
    for path in sorted(config.RULES_DIR.glob("*.yml")):
        for rule in parse(path):
            staging = {r.removeprefix("stg_").split("__")[0] for r in rule.relations() if r.startswith("stg_")}
            found[rule.id] = frozenset({path.stem, *staging})
    return found


def failures(conn: psycopg.Connection[Any], month: dt.date, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The offending rows of each failed rule, each with its lineage (see ``lineage``)."""
    failed = [rule for rule in rules if rule["status"] != "passed"]
    rows = conn.execute(
        """select rule_run_id, county_code, measure, declared, computed, difference, row_detail
           from (select f.*, row_number() over (partition by rule_run_id order by county_code, measure) as n
                 from dq.rule_failures as f where rule_run_id = any(%s)) as numbered
           where n <= %s order by rule_run_id, n""",
        [[rule["rule_run_id"] for rule in failed], FAILURES_SHOWN],
    ).fetchall()
    loads = conn.execute(
        """select load_id, feed, file_name, file_sha256, version, feed_month, is_current from ops.loads
           where (feed_month = %s and is_current) or load_id = any(%s) order by feed, version""",
        [month, sorted({int(r["row_detail"]["load_id"]) for r in rows if r["row_detail"].get("load_id")})],
    ).fetchall()
    feeds = {row["feed"] for row in conn.execute("select feed from ops.feeds").fetchall()}
    result = []
    for rule in failed:
        rule_feeds = rule_feed_names().get(rule["rule_id"], frozenset()) & feeds
        offending = [
            {**row, "lineage": lineage(row["row_detail"], loads, rule_feeds, month)}
            for row in rows
            if row["rule_run_id"] == rule["rule_run_id"]
        ]
        result.append({**rule, "rows": offending, "feeds": sorted(rule_feeds)})
    return result


def lineage(
    detail: dict[str, Any], loads: list[dict[str, Any]], feeds: frozenset[str], month: dt.date
) -> list[dict[str, Any]]:
    """Where an offending row came from.

    The exact source row when the rule returned ``load_id`` (and ``source_sheet``,
    ``source_row``); otherwise the month's current file of each feed the rule reads.
    """
    if detail.get("load_id"):
        load_id = int(detail["load_id"])
        return [
            {**load, "sheet": detail.get("source_sheet"), "row": detail.get("source_row")}
            for load in loads
            if load["load_id"] == load_id
        ]
    return [
        {**load, "sheet": None, "row": None}
        for load in loads
        if load["feed"] in feeds and load["is_current"] and load["feed_month"] == month
    ]


def completeness(conn: psycopg.Connection[Any], month: dt.date) -> list[dict[str, Any]]:
    """One row per feed: its department, and each county's delivery status for ``month``."""
    cells = conn.execute(
        """select c.feed, f.name_zh, f.department_zh, c.county_code, c.status, c.detail_rows, c.versions_loaded,
                  c.first_received_at, c.deadline_at
           from ops.feed_completeness as c inner join ops.feeds as f on f.feed = c.feed
           where c.feed_month = %s order by f.department, c.feed""",
        [month],
    ).fetchall()
    grid: dict[str, dict[str, Any]] = {}
    for cell in cells:
        row = grid.setdefault(
            cell["feed"],
            {"feed": cell["feed"], "name_zh": cell["name_zh"], "department_zh": cell["department_zh"], "cells": {}},
        )
        row["cells"][cell["county_code"]] = cell
    return list(grid.values())


def month_charts(conn: psycopg.Connection[Any], month: dt.date) -> dict[str, Any]:
    """The league table's balance rate by county, and the year's trends up to ``month``.

    A league table never published yet (its first month held back) has no published table: no chart."""
    published = conn.execute("select to_regclass('marts.mart_microcredit_league') is not null as found").fetchone()
    league: list[dict[str, Any]] = []
    balance_rows: list[dict[str, Any]] = []
    year = [dt.date(month.year, m, 1) for m in range(1, month.month + 1)]
    if published and published["found"]:
        league = conn.execute(
            """select county_name, is_city, balance_household_rate_pct from marts.mart_microcredit_league
               where month_start = %s order by balance_household_rate_pct desc nulls last, sort_order""",
            [month],
        ).fetchall()
        balance_rows = conn.execute(
            """select month_start, balance_households from marts.mart_microcredit_league
               where county_code = %s and month_start between %s and %s""",
            [config.CITY_CODE, year[0], month],
        ).fetchall()
    city = next((row for row in league if row["is_city"]), None)
    failed_rows = conn.execute(
        """with latest as (
               select distinct on (month_start) month_start, run_id from dq.rule_runs
               where month_start between %s and %s order by month_start, rule_run_id desc)
           select latest.month_start, count(*) filter (where runs.status <> 'passed') as failed
           from latest inner join dq.rule_runs as runs using (month_start, run_id)
           group by latest.month_start""",
        [year[0], month],
    ).fetchall()
    by_month_balance = {row["month_start"]: row["balance_households"] for row in balance_rows}
    by_month_failed = {row["month_start"]: row["failed"] for row in failed_rows}
    return {
        "league": charts.bar_chart(
            [(row["county_name"], row["balance_household_rate_pct"]) for row in league if not row["is_city"]],
            title="各县（市、区）总贷款余额户贷率 Balance household rate by county",
            unit="%",
            decimals=2,
            reference=(CITY_NAME, city["balance_household_rate_pct"]) if city else None,
        )
        if league
        else None,
        "balance_trend": charts.line_chart(
            [(f"{m.month}月", by_month_balance.get(m)) for m in year],
            title="商丘市余额户数（逐月） City households with a loan balance, by month",
        ),
        "failed_trend": charts.bar_chart(
            [(f"{m:%Y-%m}", by_month_failed.get(m)) for m in year],
            title="未通过规则数（逐月，最近一次校验） Rules failed per month (latest gate run)",
        ),
    }


def data_docs(checked_at: dt.datetime | None) -> dict[str, Any]:
    """Rebuild the GX Data Docs site and link it, with the pages of the gate run that ended at ``checked_at``.

    GX stores a validation result per suite at every checkpoint run; the gate's run for
    the month is the latest one stored before its outcomes were recorded in ``dq``.
    """
    from include.gate import gx_context  # noqa: PLC0415  (GX is a heavy import)

    context = gx_context._context()
    sites = context.build_data_docs()
    latest: dict[str, Any] = {}
    if checked_at is not None:
        for key in context.validation_results_store.list_keys():
            suite, when = key.expectation_suite_identifier.name, key.run_id.run_time
            if when <= checked_at and (suite not in latest or when > latest[suite].run_id.run_time):
                latest[suite] = key
    pages = []
    for suite, key in sorted(latest.items()):
        for site in context.get_docs_sites_urls(resource_identifier=key):
            pages.append({"suite": suite, "run_time": key.run_id.run_time, "url": site["site_url"]})
    return {"index": [site for site in sites.values()], "pages": pages}
