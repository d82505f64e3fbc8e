"""Every department's feed for November and December 2021, through real DAG runs.

The marts are read against the city's published figures (dbt_project/seeds/ref_published_2021_figures.csv),
through the same figure → mart mapping the gate uses (expectations/rules/indicators.yml). The December
indicator report carries the figures as the city printed them, so the gate must name each contradiction
in them (documented in samples/figures.yml), blame the declared figure (the marts are consistent
with themselves), publish every mart and withhold the contradicted figures from the official indicators;
November must publish cleanly. The two months run once per session (``year_end`` in tests/conftest.py), and
test_year_2021_reruns.py reruns them after these tests have read the clean state.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from decimal import ROUND_HALF_UP, Decimal

import pytest
import yaml

from include import config
from include.dbt_env import DBT, dbt_env
from samples import GENERATORS, figures

pytestmark = pytest.mark.integration
NOVEMBER, DECEMBER = dt.date(2021, 11, 1), dt.date(2021, 12, 1)
CITY = config.CITY_CODE
INDICATORS = yaml.safe_load((config.RULES_DIR / "indicators.yml").read_text(encoding="utf-8"))["rules"][0]["indicators"]
RULE = "indicators_declared_equal_computed"
TRUNCATION_RULE = "indicators_rates_truncated"
CONSISTENCY_RULE = "indicators_declared_consistent"
CONTRADICTIONS = {code for code, figure in figures.load().items() if figure.status == "contradiction"}
TRUNCATED = {code for code, figure in figures.load().items() if figure.status == "truncated"}


def published_rows(conn, mart: str, month: dt.date) -> list[tuple]:
    exists = conn.execute("select to_regclass(%s)", [f"marts.{mart}"]).fetchone()[0]
    if not exists:
        return []
    return conn.execute(f"select * from marts.{mart} where month_start = %s order by county_code", [month]).fetchall()


def latest_publication(conn, month: dt.date) -> tuple:
    return conn.execute(
        """select status, marts, held_back, reason from dq.publications where month_start = %s
           order by publication_id desc limit 1""",
        [month],
    ).fetchone()


def latest_failures(conn, month: dt.date) -> list[tuple]:
    return conn.execute(
        """with latest as (select distinct on (rule_id) * from dq.rule_runs where month_start = %s
                           order by rule_id, rule_run_id desc)
           select l.rule_id, l.severity, l.status, f.county_code, f.measure, f.declared, f.computed,
                  f.row_detail ->> 'mart', f.blame, f.explanation_zh
           from latest l left join dq.rule_failures f using (rule_run_id)
           where l.status <> 'passed' order by 1, 4, 5""",
        [month],
    ).fetchall()


def mart_value(conn, code: str, month: dt.date) -> Decimal | None:
    """The figure as the candidate mart computes it for 商丘市 (the mapping the gate's rule uses)."""
    spec = INDICATORS[code]
    where = "".join(f" and {column} = %s" for column in spec.get("where", {}))
    (value,) = conn.execute(
        f"select sum(({spec['value']})::numeric) from candidate.{spec['relation']} "
        f"where county_code = %s and month_start = %s{where}",
        [CITY, month, *spec.get("where", {}).values()],
    ).fetchone()
    return value


def printed(code: str) -> tuple[Decimal, Decimal]:
    """The published figure in its base unit, and half a unit of its last printed digit."""
    text = figures.published()[code].value
    unit = figures.published()[code].unit
    scale = -Decimal(text).as_tuple().exponent if "." in text else 0
    factor = Decimal(1) if unit == "%" else figures.factor(unit)
    return Decimal(text) * factor, Decimal("0.5") * Decimal(10) ** -scale * factor


def test_both_months_ran_every_feed(year_end, connect):
    feeds = (
        connect("auditor")
        .execute("select feed_month, count(distinct feed) from ops.loads where is_current group by 1 order by 1")
        .fetchall()
    )
    assert dict(feeds)[NOVEMBER] == len(GENERATORS) and dict(feeds)[DECEMBER] == len(GENERATORS)


def test_november_publishes_every_mart(year_end, connect):
    conn = connect("transformer")
    status, marts, held_back, reason = latest_publication(conn, NOVEMBER)
    assert latest_failures(conn, NOVEMBER) == [], "a rule failed on November's consistent data"
    assert status == "published" and held_back == [], reason
    assert {"mart_subsidies", "mart_project_progress", "mart_monitored_risk_summary", "mart_assets"} <= set(marts)
    assert year_end[NOVEMBER] == "success"


def test_the_gate_names_every_contradiction_in_the_published_figures(year_end, connect):
    """Each documented contradiction, with the printed value declared, the detail's value computed, and the
    declared figure blamed: its mart passes every check of its own."""
    failures = latest_failures(connect("transformer"), DECEMBER)
    found = {row[4]: row for row in failures if row[0] == RULE and row[3] == CITY}
    assert set(found) == CONTRADICTIONS
    for code in CONTRADICTIONS:
        *_, declared, computed, mart, blamed, explanation = found[code]
        value, tolerance = printed(code)
        assert declared == value, code
        carried = figures.load()[code].carried
        assert carried is not None and abs(computed - carried) <= tolerance + Decimal("0.005"), (code, computed)
        assert mart == INDICATORS[code]["relation"]
        assert blamed == "declared" and "申报数存疑" in explanation and figures.published()[code].name_zh in explanation
    truncated = {row[4] for row in failures if row[0] == TRUNCATION_RULE and row[3] == CITY}
    assert truncated == TRUNCATED
    assert {row[4]: row[8] for row in failures if row[0] == CONSISTENCY_RULE} == {
        "hardship_cleared_persons": "figures",  # 56586 cleared > 16523 in the category
        "cleared_persons": "figures",  # 29847 ≠ 10994 + 13267 + 56586
    }
    others = [f for f in failures if f[0] not in (RULE, CONSISTENCY_RULE) and f[1] == "fail"]
    assert others == [], "only the declared figures may fail in December"


def test_december_publishes_every_mart_and_flags_those_a_contradicted_figure_concerns(year_end, connect):
    conn = connect("transformer")
    status, marts, held_back, reason = latest_publication(conn, DECEMBER)
    assert status == "published" and held_back == [], reason
    (flagged,) = conn.execute(
        "select flagged from dq.publications where month_start = %s order by publication_id desc limit 1", [DECEMBER]
    ).fetchone()
    concerned = {INDICATORS[code]["relation"] for code in CONTRADICTIONS}
    assert flagged == {mart: [RULE] for mart in concerned}
    assert {"mart_microcredit_league", "mart_monitored_risk_summary", "mart_official_indicators"} <= set(marts)
    assert (
        published_rows(conn, "mart_microcredit_league", DECEMBER)
        == conn.execute(
            "select * from candidate.mart_microcredit_league where month_start = %s order by county_code", [DECEMBER]
        ).fetchall()
    ), "December's league table is consistent with itself: BI users get it"
    assert year_end[DECEMBER] == "failed", "a failed check must fail the run (the owner answers for the figure)"


def test_the_official_indicators_withhold_exactly_the_contradicted_figures(year_end, connect):
    rows = (
        connect("bi")
        .execute(
            """select indicator_code, declared_value, official_value, status from marts.mart_official_indicators
               where month_start = %s and county_code = %s""",
            [DECEMBER, CITY],
        )
        .fetchall()
    )
    by_code = {code: (declared, official, status) for code, declared, official, status in rows}
    assert set(by_code) == set(figures.published())
    for code, (declared, official, status) in by_code.items():
        figure = figures.load()[code]
        assert declared == Decimal(figures.published()[code].value), code
        if figure.status == "contradiction":
            assert (official, status) == (None, "withheld"), code
        elif figure.status == "truncated":
            assert (official, status) == (declared, "truncated"), code
        elif figure.status == "not_carried" or code not in INDICATORS:
            assert (official, status) == (declared, "unverified"), code
        else:
            assert official == declared and status in ("consistent", "bound_holds", "unverified"), (code, status)


def test_every_figure_the_marts_express_is_the_published_one_or_a_documented_contradiction(year_end, connect):
    conn = connect("transformer")
    checked, contradicted, needs_history = [], [], []
    for code in figures.published():
        if code not in INDICATORS:
            continue
        computed = mart_value(conn, code, DECEMBER)
        figure = figures.load()[code]
        if computed is None:
            # Year to date (null until January to November are loaded), or as of a date in a month this
            # test does not load (student loans, as of 2021-10-10: the October partition). `make run` has them.
            needs_history.append(code)
            assert figure.months == "ytd" or figure.reached_in, f"{code}: the mart has no December value"
            continue
        value, tolerance = printed(code)
        if INDICATORS[code].get("operator") == ">":
            assert figure.status == "bound" and computed > value, code
        elif abs(computed - value) <= tolerance:
            checked.append(code)
            assert figure.status != "contradiction", f"{code} is documented as a contradiction but matches"
        else:
            contradicted.append(code)
            assert figure.status in ("contradiction", "truncated"), f"{code}: mart {computed}, published {value}"
    assert set(contradicted) == CONTRADICTIONS | TRUNCATED
    carried = {code for code, f in figures.load().items() if f.published and f.status != "not_carried"}
    assert carried <= set(INDICATORS), f"figures no mart expresses: {sorted(carried - set(INDICATORS))}"
    assert len(checked) + len(needs_history) + len(contradicted) + 1 == len(carried)
    assert len(checked) >= 60, checked


def test_the_failed_checks_alert_the_owner_by_log_and_e_mail(year_end, smtp_sink):
    import email
    from email.header import decode_header, make_header

    alerts = (config.STATE_DIR / "logs" / "alerts.log").read_text(encoding="utf-8")
    assert "2021-12: check failed" in alerts and "indicators_declared_equal_computed" in alerts
    received = []
    for raw in smtp_sink.messages:
        message = email.message_from_string(raw)
        body = "".join(
            part.get_payload(decode=True).decode("utf-8") for part in message.walk() if not part.is_multipart()
        )
        received.append((str(make_header(decode_header(message["Subject"]))), message["To"], body))
    assert any(
        "2021-12: check failed" in subject and "owner@example.invalid" in to and "indicators_declared" in body
        for subject, to, body in received
    ), received[:2]


def test_staging_tests_hold_for_december(year_end, warehouse):
    """Staging views are created at start-up, not by the monthly DAG: their dbt tests run here on real data."""
    result = subprocess.run(
        [
            DBT,
            "test",
            "--select",
            "path:models/staging",
            "--vars",
            "month: 2021-12-01",
        ],
        cwd=config.DBT_PROJECT_DIR,
        env={**os.environ, **dbt_env(warehouse)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "PASS=" in result.stdout and "ERROR=0" in result.stdout


def test_an_auditor_sees_each_mart_as_published_at_a_given_time(year_end, connect):
    auditor = connect("auditor")
    (november_decided,) = auditor.execute(
        "select max(decided_at) from dq.publications where month_start = %s", [NOVEMBER]
    ).fetchone()
    count = "select count(*) from dq.mart_subsidies_as_of(%s) where month_start = %s"
    assert auditor.execute(count, [november_decided, DECEMBER]).fetchone() == (0,), "December was not out yet"
    assert auditor.execute(count, [november_decided, NOVEMBER]).fetchone()[0] > 0
    (now,) = auditor.execute("select now()").fetchone()
    now_rows = auditor.execute(
        "select * from dq.mart_subsidies_as_of(%s) where month_start = %s order by county_code, program_code",
        [now, DECEMBER],
    ).fetchall()
    published = auditor.execute(
        "select * from marts.mart_subsidies where month_start = %s order by county_code, program_code", [DECEMBER]
    ).fetchall()
    assert [row[: len(published[0])] for row in now_rows] == published


def _validate_in_own_process(month: dt.date, run_id: str) -> tuple[dict, float, float]:
    import time

    from include.pipeline import validate_month

    started = time.time()
    verdict = validate_month(month, run_id)
    return verdict, started, time.time()


def test_two_months_validated_at_once_get_the_verdicts_they_get_alone(year_end, connect):
    """Two gate runs share no mutable state: November and December, validated concurrently in two processes,
    reach exactly the outcomes their DAG runs recorded one at a time."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    auditor = connect("auditor")

    def alone(month: dt.date) -> dict[str, str]:
        rows = auditor.execute(
            """select rule_id, status from dq.rule_runs where month_start = %s and run_id = (
                   select run_id from dq.rule_runs where month_start = %s and run_id not like 'concurrent-%%'
                   order by rule_run_id desc limit 1)""",
            [month, month],
        ).fetchall()
        return dict(rows)

    expected = {month: alone(month) for month in (NOVEMBER, DECEMBER)}
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {
            month: pool.submit(_validate_in_own_process, month, f"concurrent-{month:%Y-%m}") for month in expected
        }
        results = {month: future.result() for month, future in futures.items()}
    (_, nov_start, nov_end), (_, dec_start, dec_end) = results[NOVEMBER], results[DECEMBER]
    assert nov_start < dec_end and dec_start < nov_end, "the two gate runs did not overlap"
    for month, (verdict, _, _) in results.items():
        statuses = {rule: "passed" for rule in verdict["passed"]}
        statuses |= {rule: "failed" for rule in verdict["failed"] + verdict["warned"]}
        assert statuses == expected[month], month
    assert RULE in results[DECEMBER][0]["failed"] and RULE not in results[NOVEMBER][0]["failed"]


def test_a_declared_figure_one_printed_unit_off_is_caught_and_one_within_its_rounding_is_not(year_end, connect):
    """Each figure December's marts express, declared for 商丘市 as its computed value printed at the published
    precision, passes the gate's declared = computed rules; one unit of that precision up or down is caught
    (a contradiction, or a rate the change makes a truncation). Year-to-date figures need January to October
    (not loaded here); `make run` checks them on the whole year."""
    from include.gate import gx_context
    from include.gate.rule_schema import all_rules
    from include.gate.rule_sql import compile_sql

    conn = connect("transformer")
    conn.execute("select set_config(%s, %s, false)", [gx_context.MONTH_SETTING, DECEMBER.isoformat()])
    rules = {rule.id: rule for rule in all_rules()}
    computed = {
        code: value
        for code, spec in INDICATORS.items()
        if spec.get("operator", "=") == "=" and (value := mart_value(conn, code, DECEMBER)) is not None
    }
    assert len(computed) >= 40, sorted(computed)

    def caught(shift: int) -> set[str]:
        conn.execute("drop table if exists perturbed")
        conn.execute(
            "create temp table perturbed as select * from staging.stg_indicator_report__indicators"
            " where month_start = %s and county_code = %s",
            [DECEMBER, CITY],
        )
        for code, value in computed.items():
            base, tolerance = printed(code)
            factor = base / Decimal(figures.published()[code].value) if Decimal(figures.published()[code].value) else 1
            unit = Decimal(1).scaleb(-figures.published()[code].decimals)
            shown = (value / factor).quantize(unit, ROUND_HALF_UP) + shift * unit  # computed, at the printed precision
            conn.execute(
                """update perturbed set declared_value = %s, base_value = %s, base_tolerance = %s
                   where indicator_code = %s""",
                [shown, shown * factor, tolerance, code],
            )
        found = set()
        for rule_id in (RULE, TRUNCATION_RULE):
            query = compile_sql(rules[rule_id]).replace("{batch}", "perturbed")
            found |= {row[2] for row in conn.execute(query).fetchall()}
        return found

    assert caught(0) == set(), "a figure within its rounding raised a finding"
    for shift in (1, -1):
        assert caught(shift) == set(computed), f"{sorted(set(computed) - caught(shift))} off by {shift} unit(s)"
