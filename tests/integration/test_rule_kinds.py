"""Every rule kind, passing and failing, through real Great Expectations on the embedded PostgreSQL.

The rules are data (``rule_kinds.yml``, beside this file). The test builds small tables in a
scratch schema (``rk_data``), scopes them to December 2021 with the gate's own ``prepare_views``
(into ``rk_gate``), compiles the rules into a temporary GX file context, runs the checkpoint
once, and asserts exactly which rows each rule reports: county, measure, declared, computed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from include.gate import gx_context
from include.gate.gate import prepare_views
from include.gate.rule_schema import GROUPED, Schemas, parse
from include.gate.rule_sql import TEMPLATES

pytestmark = pytest.mark.integration

RULES = Path(__file__).with_name("rule_kinds.yml")
SCHEMAS = Schemas(gate="rk_gate", relations="rk_data")
MONTH, LAST_MONTH, LAST_YEAR = dt.date(2021, 12, 1), dt.date(2021, 11, 1), dt.date(2020, 12, 1)
CITY = "411400"
COUNTIES = ["411402", "411403", "411421", "411422", "411423", "411424", "411425", "411426", "411481", "411499"]
LINEAGE = "load_id bigint, source_sheet text, source_row integer"

# What every rule must report: {(county_code, measure, declared, computed)}; empty: the rule passes.
EXPECTED: dict[str, set[tuple[str, str, Any, Any]]] = {
    "hierarchy_pass": set(),
    "hierarchy_fail": {(CITY, "households_bad", 1046, 1045)},
    "hierarchy_missing_fail": {(CITY, "households_gap", None, 50)},
    "hierarchy_missing_skip": set(),
    "declared_kind_pass": set(),
    "declared_kind_fail": {("411421", "e_bad", 121, 120), ("411422", "r_bad", "10.01", 10)},
    "consistency_pass": set(),
    "consistency_fail": {
        ("411421", "x_part", 11, 10),
        ("411423", "x_total", 12, 10),
        ("411423", "x_rate", "60.00", "50.0000"),
        ("411424", "x_rate", "59.99", "60.0000"),
    },
    "consistency_truncation": {("411425", "t_rate", "57.03", "57.0380")},
    "control_totals_pass": set(),
    "control_totals_fail": {("411421", "dibao_amount", "303.0", "302.5")},
    "control_totals_distinct_pass": set(),
    # no 特困 detail and no 汇总 figure: 0 = 0; 示范区 declares 2 without detail: 2 against 0
    "control_totals_missing_as_zero": {("411499", "tekun_payments", 2, 0)},
    "part_whole_pass": set(),
    "part_whole_fail": {("411402", "new_households", 110, 100), ("411403", "new_households", 111, 110)},
    "declared_pass": set(),
    "declared_fail": {("411425", "eligible_households", 163, 160)},
    "declared_relative_pass": set(),
    "declared_relative_fail": {("411426", "eligible_households", "170.85", 170)},
    "ratio_pass": set(),
    # 57.038 % printed as 57.03 (truncated) and 23.4649 % printed as 23.47 fail; 23.465 % as 23.47 passes
    "ratio_fail": {("411421", "rate_bad_pct", "57.03", "57.038"), ("411423", "rate_bad_pct", "23.47", "23.4649")},
    "ratio_fail_quarter_ends_except_county": {("411421", "rate_bad_pct", "57.03", "57.038")},
    "ratio_other_months_pass": set(),
    "rank_pass": set(),
    "rank_fail": {("411422", "rank_bad", 3, 2), ("411423", "rank_bad", 2, 3)},
    "monotonic_pass": set(),
    "monotonic_fail": {("411402", "ytd_bad", 190, 200)},
    "monotonic_not_restated_fail": {("411402", "ytd_bad", 190, 200)},
    "monotonic_restated_pass": set(),
    "monotonic_missing_fail": {("411421", "ytd_ok", 50, None)},
    "cross_reference_pass": set(),
    "cross_reference_fail": {("411426", "new_tekun_paid", 1, 0), ("411481", "new_tekun_paid", 1, 0)},
    "cross_reference_any_month_fail": {("411481", "new_tekun_paid", 1, 0)},
    "outlier_pass": set(),
    "outlier_range_fail": {("411402", "spike", 5000, 1000)},
    "outlier_month_on_month_fail": {("411402", "spike", 5000, 100)},
    "outlier_year_on_year_fail": {("411402", "ytd_ok", 210, 100)},
    "hierarchy_by_pass": set(),
    "hierarchy_by_fail": {(CITY, "payments_bad", 1, 2)},
    "comparison_by_pass": set(),
    "comparison_by_fail": {("411424", "payments", 2, 1)},
    "monotonic_by_pass": set(),
    "monotonic_by_fail": {("411402", "ytd_bad", 2, 3)},
    "outlier_by_fail": {("411402", "ytd_ok", 4, 3)},
}
# The group each failing row of a `by` rule names (group_key).
GROUPS = {
    "hierarchy_by_fail": "assistance_type=特困供养",
    "comparison_by_fail": "assistance_type=特困供养",
    "monotonic_by_fail": "assistance_type=特困供养",
    "outlier_by_fail": "assistance_type=特困供养",
}


def _create(conn: psycopg.Connection, name: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    table = sql.Identifier(SCHEMAS.relations or "", name)
    conn.execute(sql.SQL("create table {} ({})").format(table, sql.SQL(columns)))
    marks = sql.SQL(", ").join(sql.Placeholder() * len(rows[0]))
    with conn.cursor() as cursor:
        cursor.executemany(sql.SQL("insert into {} values ({})").format(table, marks), rows)


def _lineage(sheet: str, row: int) -> tuple[int, str, int]:
    return 9000, sheet, row


def build_tables(conn: psycopg.Connection) -> None:
    """The small tables the rules read; each planted error is named in rule_kinds.yml."""
    # civil-affairs payments (明细), December and November: one 低保 payment per county, a person paid
    # 低保 in two counties (counted once for the city), 特困 t5 paid in December, t7 in November only
    payments = [(c, MONTH, f"p{i}", "农村低保", Decimal("300.5") + i) for i, c in enumerate(COUNTIES)]
    payments += [("411402", MONTH, "mover", "农村低保", 100), ("411403", MONTH, "mover", "农村低保", 100)]
    payments += [("411424", MONTH, "t5", "特困供养", 500), ("411426", LAST_MONTH, "t7", "特困供养", 500)]
    payments += [("411402", LAST_MONTH, "p0", "农村低保", 999)]
    _create(
        conn,
        "stg_rk__payments",
        f"county_code text, month_start date, person_key text, assistance_type text, amount_yuan numeric, {LINEAGE}",
        [(*p, *_lineage("明细", n + 2)) for n, p in enumerate(payments)],
    )
    december = [p for p in payments if p[1] == MONTH]
    dibao = {c: sum(p[4] for p in december if p[0] == c and p[3] == "农村低保") for c in COUNTIES}
    persons = {c: len({p[2] for p in december if p[0] == c}) for c in COUNTIES}
    tekun = {c: sum(1 for p in december if p[0] == c and p[3] == "特困供养") or None for c in COUNTIES}
    tekun["411499"] = 2  # declared without any detail
    bad = {c: dibao[c] + Decimal("0.5") if c == "411421" else dibao[c] for c in COUNTIES}
    totals = [(c, MONTH, 100 + i, 100 + i, 5, dibao[c], bad[c], persons[c], tekun[c]) for i, c in enumerate(COUNTIES)]
    households = sum(100 + i for i in range(10))
    totals.append((CITY, MONTH, households, households + 1, None, sum(dibao.values()), sum(dibao.values()), 12, 1))
    _create(
        conn,
        "stg_rk__control_totals",
        "county_code text, month_start date, households_ok integer, households_bad integer, households_gap integer,"
        f" dibao_amount_ok numeric, dibao_amount_bad numeric, persons integer, tekun_payments integer, {LINEAGE}",
        [(*t, *_lineage("汇总", n + 3)) for n, t in enumerate(totals)],
    )
    # the league table (a mart: no lineage) and the indicator report declaring its eligible households
    league = [(c, MONTH, 10 + i, 100 + 10 * i) for i, c in enumerate(COUNTIES)]
    league.append((CITY, MONTH, sum(r[2] for r in league), sum(r[3] for r in league)))
    _create(
        conn,
        "mart_rk__league",
        "county_code text, month_start date, new_households integer, eligible_households integer",
        league,
    )
    indicators = []
    for county, _, _, eligible in league:
        indicators += [
            (county, MONTH, "A01", Decimal(eligible)),
            (county, MONTH, "A02", Decimal(eligible + (3 if county == "411425" else 0))),
            (county, MONTH, "A03", Decimal(eligible) * (Decimal("1.005") if county == "411426" else 1)),
        ]
    _create(
        conn,
        "stg_rk__indicators",
        f"county_code text, month_start date, indicator_code text, value numeric, {LINEAGE}",
        [(*r, *_lineage("明细", n + 2)) for n, r in enumerate(indicators)],
    )
    # the indicator report in base units with each figure's printed tolerance (declared = computed):
    # e_ok as computed; e_bad one household too many in 411421; r_ok/r_bad printed rates (10 % everywhere)
    # consistency: x_part <= x_whole (411421 declares 11 > 10); x_total = x_a + x_b (411423: 12 ≠ 6 + 4,
    # 411422 prints 0.001 万户, 5 to 15: consistent); x_rate = 100 x_a / x_total (411423: 60 ≠ 50, and 411424
    # prints 59.99 for exactly 60); t_rate = 100 t_a / t_b is 57.038 %, printed 57.04, in 411425 truncated to 57.03
    declared = []
    for county, _, _new, eligible in league:
        figures = {
            "e_ok": Decimal(eligible),
            "e_bad": Decimal(eligible + (1 if county == "411421" else 0)),
            "r_ok": Decimal("10.00"),
            "r_bad": Decimal("10.01" if county == "411422" else "10.00"),
            "x_part": Decimal(11 if county == "411421" else 5),
            "x_whole": Decimal(10),
            "x_a": Decimal(6),
            "x_b": Decimal(4),
            "x_total": Decimal("0.001" if county == "411422" else 12 if county == "411423" else 10),
            "x_rate": Decimal("59.99" if county == "411424" else "60.00"),
            "t_a": Decimal(57038),
            "t_b": Decimal(100000),
            "t_rate": Decimal("57.03" if county == "411425" else "57.04"),
        }
        for code, value in figures.items():
            unit = "%" if "_r" in code or code.startswith("r_") else "万户" if value == Decimal("0.001") else "户"
            base = value * 10000 if unit == "万户" else value
            tolerance = Decimal("0.5").scaleb(value.as_tuple().exponent) * (10000 if unit == "万户" else 1)  # type: ignore[arg-type]
            declared.append(
                (county, MONTH, code, base, tolerance, value, unit, "%" if unit == "%" else "户", code.upper())
            )
    _create(
        conn,
        "stg_rk__declared",
        "county_code text, month_start date, indicator_code text, base_value numeric, base_tolerance numeric,"
        f" declared_value numeric, declared_unit text, base_unit text, indicator_name text, {LINEAGE}",
        [(*r, *_lineage("指标", n + 2)) for n, r in enumerate(declared)],
    )
    # printed rates and ranks: 57.038 %, 23.465 % (a half exactly), 23.4649 %; the city prints none
    rates = [
        ("411421", MONTH, 57038, 100000, Decimal("57.04"), Decimal("57.03"), 1, 1),
        ("411422", MONTH, 4693, 20000, Decimal("23.47"), Decimal("23.47"), 2, 3),
        ("411423", MONTH, 234649, 1000000, Decimal("23.46"), Decimal("23.47"), 3, 2),
        (CITY, MONTH, 296380, 1120000, None, None, None, None),
    ]
    _create(
        conn,
        "stg_rk__rates",
        "county_code text, month_start date, numerator integer, denominator integer, rate_ok_pct numeric,"
        f" rate_bad_pct numeric, rank_ok integer, rank_bad integer, {LINEAGE}",
        [(*r, *_lineage("汇总", n + 3)) for n, r in enumerate(rates)],
    )
    # year-to-date figures for December 2020, November and December 2021
    _create(
        conn,
        "mart_rk__ytd",
        "county_code text, month_start date, ytd_ok integer, ytd_bad integer, spike integer",
        [
            ("411402", LAST_YEAR, 100, 100, 100),
            ("411402", LAST_MONTH, 200, 200, 100),
            ("411402", MONTH, 210, 190, 5000),
            ("411403", LAST_YEAR, 200, 200, 100),
            ("411403", LAST_MONTH, 220, 220, 100),
            ("411403", MONTH, 230, 230, 120),
            ("411421", MONTH, 50, 50, 100),
        ],
    )
    # one row per county × assistance type and the 商丘市 row of each type (a mart: no lineage): December's
    # payments counted per type, in `payments_bad` 411424's one 特困 payment twice (its city row is right);
    # year-to-date figures of 411402 for November and December (特困 falls from 3 to 2 in `ytd_bad`)
    ytd = {("411402", LAST_MONTH, "农村低保"): (10, 10), ("411402", LAST_MONTH, "特困供养"): (3, 3)}
    ytd |= {("411402", MONTH, "农村低保"): (11, 11), ("411402", MONTH, "特困供养"): (4, 2)}
    programs = [(c, m, t, None, None, *ytd[c, m, t]) for c, m, t in ytd if m == LAST_MONTH]
    for kind in ("农村低保", "特困供养"):
        counts = {c: sum(1 for p in december if p[0] == c and p[3] == kind) for c in COUNTIES}
        for c in COUNTIES:
            bad = counts[c] + (1 if (c, kind) == ("411424", "特困供养") else 0)
            programs.append((c, MONTH, kind, counts[c], bad, *ytd.get((c, MONTH, kind), (None, None))))
        programs.append((CITY, MONTH, kind, sum(counts.values()), sum(counts.values()), None, None))
    _create(
        conn,
        "mart_rk__programs",
        "county_code text, month_start date, assistance_type text, payments_ok integer, payments_bad integer,"
        " ytd_ok integer, ytd_bad integer",
        programs,
    )
    # the early-warning list: a November flag must not be read in December
    warnings = [
        ("411402", MONTH, "p0", "新纳入低保"),
        ("411421", MONTH, "p2", "新纳入低保"),
        ("411424", MONTH, "t5", "新纳入特困"),
        ("411426", MONTH, "t7", "新纳入特困"),
        ("411481", MONTH, "t9", "新纳入特困"),
        ("411402", LAST_MONTH, "ghost", "新纳入低保"),
    ]
    _create(
        conn,
        "stg_rk__warnings",
        f"county_code text, month_start date, person_key text, warning_type text, {LINEAGE}",
        [(*w, *_lineage("明细", n + 2)) for n, w in enumerate(warnings)],
    )


def record_deliveries(conn: psycopg.Connection) -> None:
    """ops.loads: feed rk_first_version delivered December once, rk_restated delivered it twice."""
    for feed, version, current in (("rk_first_version", 1, True), ("rk_restated", 1, False), ("rk_restated", 2, True)):
        conn.execute(
            """insert into ops.loads (feed, feed_month, version, file_name, file_sha256, file_bytes, status,
                   is_current, received_at)
               values (%s, %s, %s, %s, %s, 1, 'loaded', %s, now())""",
            [feed, MONTH, version, f"{feed}_v{version}.csv", f"{feed}-{version}", current],
        )


@pytest.fixture(scope="module")
def outcomes(warehouse: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, gx_context.Outcome]]:
    rules = parse(RULES)
    root = tmp_path_factory.mktemp("gx")
    url = warehouse.url("admin", driver="postgresql+psycopg2")
    with psycopg.connect(warehouse.url("admin"), autocommit=True) as conn:
        for schema in (SCHEMAS.relations, SCHEMAS.gate):
            conn.execute(sql.SQL("drop schema if exists {0} cascade; create schema {0}").format(sql.Identifier(schema)))
        conn.execute("delete from ops.loads where feed like 'rk\\_%'")
        build_tables(conn)
        record_deliveries(conn)
        prepare_views(conn, rules, SCHEMAS)
        import great_expectations  # noqa: F401  (imported here so the timings below are the work itself)

        started = time.monotonic()
        gx_context.compile_context(url, root, rules, SCHEMAS)
        compiled = time.monotonic()
        results = gx_context.run_checkpoint(url, MONTH, root)
        print(f"compile {compiled - started:.1f} s, checkpoint {time.monotonic() - compiled:.1f} s")
        yield {outcome.rule_id: outcome for outcome in results}
        conn.execute("delete from ops.loads where feed like 'rk\\_%'")
        for schema in (SCHEMAS.gate, SCHEMAS.relations):
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))


def _number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).normalize()


def test_every_kind_has_a_passing_and_a_failing_case():
    kinds: dict[str, set[bool]] = {}
    for rule in parse(RULES):
        kinds.setdefault(rule.kind, set()).add(bool(EXPECTED[rule.id]))
    assert kinds == {kind: {True, False} for kind in TEMPLATES}
    assert {rule.id for rule in parse(RULES)} == set(EXPECTED)
    assert {rule.kind for rule in parse(RULES) if rule.by} == set(GROUPED)  # each kind that takes `by`


def test_grouped_failures_name_their_group(outcomes):
    """A rule compared per group (``by``) reports the group of each offending row in ``group_key``."""
    for rule_id, group in GROUPS.items():
        assert {row["group_key"] for row in outcomes[rule_id].unexpected_rows} == {group}
    assert all("group_key" not in row for row in outcomes["hierarchy_fail"].unexpected_rows)


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_rule_reports_exactly_the_offending_rows(outcomes, rule_id):
    outcome = outcomes[rule_id]
    assert outcome.error is None
    reported = {
        (row["county_code"], row["measure"], _number(row["declared"]), _number(row["computed"]))
        for row in outcome.unexpected_rows
    }
    assert reported == {(c, m, _number(d), _number(v)) for c, m, d, v in EXPECTED[rule_id]}
    assert outcome.success == (not EXPECTED[rule_id])
    assert all(str(row["month_start"]).startswith("2021-12-01") for row in outcome.unexpected_rows)


def test_failures_carry_the_source_rows(outcomes):
    """Staging rows name their load, sheet and row; mart rows (aggregates) have none to name."""
    (city,) = outcomes["hierarchy_fail"].unexpected_rows
    assert (city["load_id"], city["source_sheet"], city["source_row"]) == (9000, "汇总", 13)
    (county,) = outcomes["control_totals_fail"].unexpected_rows
    assert (county["source_sheet"], county["source_row"]) == ("汇总", 5)
    assert {(r["person_key"], r["source_row"]) for r in outcomes["cross_reference_fail"].unexpected_rows} == {
        ("t7", 5),
        ("t9", 6),
    }
    assert {r["source_row"] for r in outcomes["ratio_fail"].unexpected_rows} == {3, 5}
    assert all("load_id" not in r for r in outcomes["part_whole_fail"].unexpected_rows)
    (difference,) = {_number(r["difference"]) for r in outcomes["control_totals_fail"].unexpected_rows}
    assert difference == Decimal("0.5")
