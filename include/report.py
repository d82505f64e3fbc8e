"""What ``make run`` prints: a line per month and a closing summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg

from include import config
from include.gate.blame import BLAMES
from include.gate.gate import DECISIONS
from include.warehouse.connection import server


def _auditor() -> psycopg.Connection:
    return psycopg.connect(server().url("auditor"))


def month_line(month: dt.date) -> str:
    """Rows loaded, the rules that passed, failed (fail rules) and warned (warn rules), and the gate's decision
    for one month (with the marts published with a warning flag: a declared figure their mart contradicts)."""
    with _auditor() as conn:
        rows = conn.execute(
            "select coalesce(sum(detail_rows), 0), count(*) filter (where status = 'quarantined') "
            "from ops.loads where feed_month = %s and (is_current or status = 'quarantined')",
            [month],
        ).fetchone() or (0, 0)
        decision = conn.execute(
            "select status, rules_passed, rules_failed, rules_warned, (select count(*) from jsonb_object_keys(flagged))"
            " from dq.publications where month_start = %s order by publication_id desc limit 1",
            [month],
        ).fetchone()
    quarantined = f", {rows[1]} quarantined" if rows[1] else ""
    if not decision:
        return f"{rows[0]:>9,} rows loaded{quarantined}  → no gate decision"
    status, passed, failed, warned, flagged = decision
    return (
        f"{rows[0]:>9,} rows loaded{quarantined}  rules {passed} passed, {failed} failed, {warned} warned"
        f"  → {DECISIONS[status][1].lower()}" + (f" ({flagged} marts with a warning flag)" if flagged else "")
    )


def league_table(month: dt.date) -> str:
    """The published league table for ``month``, read as the BI role."""
    with psycopg.connect(server().url("bi")) as conn:
        rows = conn.execute(
            """select county_name, eligible_households, balance_households, new_households,
                      new_household_rate_pct, balance_household_rate_pct, balance_rate_rank
               from marts.mart_microcredit_league where month_start = %s order by sort_order""",
            [month],
        ).fetchall()
    if not rows:
        return "  (nothing published for this month: held back by the gate, see the findings above)"
    header = ("县(市、区)", "享受政策户", "余额户数", "新增户数", "新增户贷率", "余额户贷率", "排名")
    lines = ["{:<8} {:>9} {:>8} {:>8} {:>9} {:>9} {:>4}".format(*header)]
    for name, eligible, balance, new, new_rate, balance_rate, rank in rows:
        lines.append(
            f"{name:<10} {eligible:>12,} {balance:>10,} {new:>10,} {new_rate:>13}% {balance_rate:>13}% {rank or '':>5}"
        )
    return "\n".join(lines)


def cost_line(timings: dict[dt.date, dict[str, float]]) -> str:
    """The dbt cost of the last month against the first, from one run's task timings."""
    first, last = min(timings, default=None), max(timings, default=None)
    if first is None or last is None or first == last or not timings[first].get("dbt"):
        return ""
    ratio = timings[last]["dbt"] / timings[first]["dbt"]
    return (
        f"dbt time, {last:%Y-%m} vs {first:%Y-%m}: {timings[last]['dbt']:.0f} s / {timings[first]['dbt']:.0f} s"
        f" = {ratio:.2f}x"
    )


def findings(months: list[dt.date]) -> list[str]:
    """The gate's failed fail rules and warn rules (warnings) of the latest run of each month, with declared and
    computed values."""
    with _auditor() as conn:
        rows = conn.execute(
            """with latest as (
                   select distinct on (month_start, rule_id) * from dq.rule_runs
                   where month_start = any(%s) order by month_start, rule_id, rule_run_id desc)
               select l.month_start, l.rule_id, l.severity, f.county_code, f.measure, f.declared, f.computed,
                      f.difference, f.blame, f.explanation_zh, count(*) over (partition by l.rule_run_id) as offending,
                      row_number() over (partition by l.rule_run_id order by f.county_code, f.measure) as nth
               from latest l join dq.rule_failures f using (rule_run_id)
               where l.status <> 'passed' order by l.severity, l.month_start, l.rule_id, nth""",
            [months],
        ).fetchall()
    lines = []
    for month, rule, severity, county, measure, declared, computed, difference, blame, why, offending, nth in rows:
        if severity == "warn" and nth > 3:  # every row of a failed fail rule; three of a warning
            continue
        more = f" (+{offending - 3} more rows)" if severity == "warn" and nth == 3 and offending > 3 else ""
        lines.append(
            f"  {month:%Y-%m} {severity:<4} {rule}: {county or ''} {measure or ''} declared {declared} "
            f"computed {computed} (difference {difference}){more}"
        )
        if why:
            lines.append(f"      {f'blame: {BLAMES[blame][0]}. ' if blame else ''}{why}")
    return lines


def summary(
    months: list[dt.date], log: Path, seconds: float, timings: dict[dt.date, dict[str, float]] | None = None
) -> str:
    with _auditor() as conn:
        decisions: dict[str, int] = dict(
            conn.execute(
                """select status, count(*) from (select distinct on (month_start) month_start, status
                   from dq.publications where month_start = any(%s)
                   order by month_start, publication_id desc) latest group by status""",
                [months],
            ).fetchall()
        )
        held = conn.execute(
            """select month_start, held_back, flagged from (select distinct on (month_start) month_start, held_back,
                   flagged from dq.publications where month_start = any(%s) order by month_start, publication_id desc) l
               where cardinality(held_back) > 0 or flagged <> '{}' order by month_start""",
            [months],
        ).fetchall()
        checks = conn.execute(
            """select count(*) filter (where status = 'passed'),
                      count(*) filter (where status <> 'passed' and severity = 'fail'),
                      count(*) filter (where status <> 'passed' and severity = 'warn')
               from (select distinct on (month_start, rule_id) status, severity from dq.rule_runs
                     where month_start = any(%s) order by month_start, rule_id, rule_run_id desc) latest""",
            [months],
        ).fetchone() or (0, 0, 0)
    found = server(start=False)
    last = max(months)
    gate_findings = findings(months)
    return "\n".join(
        [
            "",
            f"Months fully published: {decisions.get('published', 0)} of {len(months)}"
            + (f"; partly published: {decisions['partial']}" if decisions.get("partial") else "")
            + (f"; held back entirely: {decisions['held_back']}" if decisions.get("held_back") else ""),
            *[f"  {month:%Y-%m} held back: {', '.join(marts)}" for month, marts, _ in held if marts],
            *[
                f"  {month:%Y-%m} published with a warning flag (a declared figure is contradicted): {', '.join(flags)}"
                for month, _, flags in held
                if flags
            ],
            f"Checks: {checks[0]} passed, {checks[1]} failed, {checks[2]} warned",
            "Gate findings (failed and warned rules, offending rows):" if gate_findings else "Gate findings: none",
            *gate_findings,
            cost_line(timings or {}),
            f"Published league table, {last:%Y-%m} (marts.mart_microcredit_league):",
            league_table(last),
            "",
            f"Auditor reports (one folder per month: index.html, report.xlsx, report.pdf): "
            f"{config.REPORTS_DIR / f'{last:%Y-%m}'}/",
            f"Airflow task logs: {log}",
            f"Connect: make psql   (BI role, read-only)   or host {found.host} port {found.port} "
            f"database {found.database} user {config.ROLE_BI}, password in {config.SECRETS_DIR / 'bi_password'}",
            f"Wall time: {seconds:.0f} s",
        ]
    )
