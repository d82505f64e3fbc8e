"""The auditor's report of a month, in ``<REPORTS_DIR>/<YYYY-MM>/``: a self-contained HTML page (``index.html``),
the same facts as a workbook (``report.xlsx``, see ``report_xlsx``) and the page printed by Chromium (``report.pdf``,
see ``report_pdf``).

Everything on it is read as the auditor role. It opens with what the gate decided (``dq.publications``:
the marts published, published with a warning flag, held back, and why) and a summary in Chinese of
each finding of the month's latest gate run: per offending row the measure's Chinese name, the
declared and computed values at their printed precision, which side is blamed and why
(``dq.rule_failures``), and the source row (``ops.loads``). Then every failed rule with all its
offending rows, the warnings, the passed rules (collapsed), the publication log, the feed
completeness grid (``ops.feed_completeness``), the month's deliveries with their restatements (``ops.loads``) and
what the landing folder held that was not loaded (``ops.landing_findings``), and charts of the published marts.
It links the Great Expectations Data Docs, which it rebuilds from the validation results GX stored.

Names come from where they are already kept: rule kinds from ``KINDS`` below, departments from the
feed contracts, indicator names from the published-figures seed, column names from the contracts'
Chinese headers or the dbt docs (``target/manifest.json``). Values are shown at their printed precision
(``shown``), times in Beijing time (``beijing``), whatever the server's time zone.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import time
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import psycopg
from jinja2 import Environment, PackageLoader, StrictUndefined
from psycopg.rows import dict_row

from include import charts, config
from include.gate import blame, dbt_tests
from include.gate.gate import DECISIONS
from include.gate.rule_schema import Rule, Side, parse
from include.ingest import values
from include.ingest.contract import contracts
from include.warehouse.connection import server

FAILURES_SHOWN = 200  # offending rows listed per rule; the count says how many there were
SUMMARY_LINES = 10  # lines per finding in the summary at the top; it says how many rows are left out
PLACES_SHOWN = 5  # counties named on one summary line; the line says how many there are
CITY_NAME = "商丘市"
MAX_DECIMALS = 6  # a figure shown in its printed unit never carries more decimals
BEIJING = ZoneInfo("Asia/Shanghai")
# Labels of the codes dq and ops record (中文, English), for the page and the workbook alike; a publication's
# status reads as gate.DECISIONS.
RULE_STATUSES = {"passed": ("通过", "Passed"), "failed": ("未通过", "Failed"), "error": ("出错", "Error")}
SEVERITIES = {"fail": ("阻断", "Blocking"), "warn": ("警告", "Warning")}
DELIVERIES = {
    "on_time": ("按时", "On time"),
    "late": ("逾期", "Late"),
    "missing": ("缺报", "Missing"),
    "resubmitted": ("重报", "Resubmitted"),
}
LOAD_STATUSES = {"loaded": ("已加载", "Loaded"), "quarantined": ("已隔离", "Quarantined")}
FINDING_SEVERITIES = {"error": ("错误", "Error"), "warn": ("警告", "Warning"), "info": ("提示", "Note")}


class Kind(NamedTuple):
    """A rule kind's names, and what its declared and computed sides are (中文 English)."""

    zh: str
    en: str
    declared: str
    computed: str


KINDS = {
    "declared": Kind(
        "申报值核对",
        "declared = computed",
        "申报值 the declared figure",
        "由明细计算的值 the value computed from the detail",
    ),
    "consistency": Kind(
        "申报数自洽",
        "declared figures agree with each other",
        "申报值 the declared figure",
        "由其他申报数推得的值 what the other declared figures give",
    ),
    "hierarchy": Kind(
        "上下级汇总",
        "counties add up",
        "商丘市行 the 商丘市 row",
        "各县（市、区）之和 the sum of the counties",
    ),
    "comparison": Kind(
        "左右比较",
        "left against right",
        "左边 left",
        "右边 right",
    ),
    "ratio": Kind(
        "比率",
        "rate as printed",
        "打印的比率 the printed rate",
        "按分子、分母计算的比率 the rate computed",
    ),
    "rank": Kind(
        "排名",
        "rank as printed",
        "打印的排名 the printed rank",
        "计算的排名 the computed rank",
    ),
    "monotonic": Kind(
        "累计数不减",
        "year to date never falls",
        "本月累计 this month",
        "上月累计 last month",
    ),
    "cross_reference": Kind(
        "跨部门比对",
        "cross-department check",
        "名单 the list",
        "登记（1 找到，0 未找到） the register (1 found, 0 not)",
    ),
    "outlier": Kind(
        "异常值",
        "outlier",
        "数值 the value",
        "越过的界限或上期值 the bound crossed, or the earlier value",
    ),
    "dbt_test": Kind(
        "结构校验 (dbt)",
        "structure (dbt test)",
        "不符合的行 offending rows",
        "应为 0 none expected",
    ),
    "dbt_unit_test": Kind(
        "单元测试 (dbt)",
        "dbt unit test",
        "模型输出 the model's output",
        "预期结果 the expected rows",
    ),
}


class Report(NamedTuple):
    """A month's report files, and the seconds each took (``facts``: gathering them and the GX Data Docs)."""

    html: Path
    xlsx: Path
    pdf: Path | None  # None: no Chromium or CJK font could be had, or Chromium failed (it says why)
    seconds: dict[str, float]


def write_report(month: dt.date, url: str | None = None) -> Report:
    """Write the report for ``month`` (whatever the gate decided): the page, the workbook and the PDF.

    ``url``: the auditor's connection (default: the configured or embedded warehouse).
    """
    from include import report_pdf, report_xlsx  # noqa: PLC0415

    clock = [time.monotonic()]

    def lap() -> float:
        clock.append(time.monotonic())
        return round(clock[-1] - clock[-2], 2)

    with psycopg.connect(url or server().url("auditor"), row_factory=dict_row) as conn:
        facts = gather(conn, month)
    facts["data_docs"] = data_docs(facts["gate_run"]["checked_at"] if facts["gate_run"] else None)
    seconds = {"facts": lap()}
    folder = config.REPORTS_DIR / f"{month:%Y-%m}"
    folder.mkdir(parents=True, exist_ok=True)
    html = folder / "index.html"
    html.write_text(render(facts), encoding="utf-8")
    seconds["html"] = lap()
    xlsx = report_xlsx.write(facts, folder / "report.xlsx")
    seconds["xlsx"] = lap()
    pdf = report_pdf.print_pdf(html, folder / "report.pdf")
    seconds["pdf"] = lap()
    return Report(html, xlsx, pdf, seconds)


def render(facts: dict[str, Any]) -> str:
    environment = Environment(loader=PackageLoader("include", "templates"), autoescape=True, undefined=StrictUndefined)
    environment.filters["bj"] = beijing
    names = {
        "kinds": KINDS,
        "blames": blame.BLAMES,
        "departments": departments(),
        "mart_names": mart_names(),
        "places_shown": PLACES_SHOWN,
        "decision_labels": DECISIONS,
        "severity_labels": SEVERITIES,
        "status_labels": DELIVERIES,
        "load_labels": LOAD_STATUSES,
        "finding_labels": FINDING_SEVERITIES,
    }
    return environment.get_template("audit_report.html.j2").render(**names, **facts)


def beijing(moment: dt.datetime | None, pattern: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A moment in Beijing time, labelled ('2022-01-11 00:00:00 北京时间'), whatever the server's or this process's
    time zone; a naive moment is UTC (as GX keeps its run times); '—' for none."""
    return f"{in_beijing(moment):{pattern}} 北京时间" if moment else "—"


def in_beijing(moment: dt.datetime) -> dt.datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(BEIJING)


def number(value: object) -> str:
    """Exact, without exponent or trailing zeros (48060, 24.41, -1); '—' for a missing value."""
    if value is None:
        return "—"
    text = format(Decimal(str(value)) if isinstance(value, float) else value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def plain(value: object) -> str:
    """A value of a rule outside the indicator report: whole numbers as integers, others to 2 decimals at most."""
    return number(rounded(value))


def rounded(value: object) -> Decimal | None:
    """A value as ``plain`` shows it: whole, or at 2 decimals (None stays None)."""
    if value is None:
        return None
    exact = Decimal(str(value))
    return exact.quantize(Decimal(1) if exact == exact.to_integral_value() else Decimal("0.01"), ROUND_HALF_UP)


def unit_amount(value: object, unit: str, decimals: int) -> Decimal | None:
    """A base-unit value in ``unit``, rounded to ``decimals`` (270100 人 in 万人 at 2: 27.01)."""
    if value is None:
        return None
    return (Decimal(str(value)) / unit_factors()[unit]).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


def decimals_of(text: object) -> int:
    """The decimals a number is written with ('57.030': 3, '48612': 0, 1E+2: 0)."""
    return max(0, -int(Decimal(str(text)).as_tuple().exponent))


def printed(measure: str | None, values: tuple[object, ...], detail: dict[str, Any]) -> tuple[str, ...] | None:
    """An indicator's values (declared first, in base units) as ``printed_amounts`` gives them, with their unit."""
    found = printed_amounts(measure, values, detail)
    if found is None:
        return None
    amounts, unit = found
    return tuple("—" if amount is None else f"{amount:f}{unit}" for amount in amounts)


def printed_amounts(
    measure: str | None, values: tuple[object, ...], detail: dict[str, Any]
) -> tuple[tuple[Decimal | None, ...], str] | None:
    """An indicator's values (declared first, in base units) in the unit and at the decimals its declared figure
    is printed in, and that unit.

    The unit and the decimals come from the offending row: ``declared_unit``, and the rounding the printed figure
    allows (``base_tolerance``, half a unit of its last digit in the base unit: exact, where the row's numbers
    are floats, 48612.0 for a printed 48612), else the printed number (``declared_value``); without them, the unit
    of the published figure (the seed) and the decimals of the declared value in it, at least those of the
    published figure. None when the unit is unknown.
    """
    published = published_figures().get(measure or "", {})
    unit = detail.get("declared_unit") or published.get("unit")
    if unit not in unit_factors():
        return None
    declared = values[0]
    if detail.get("base_tolerance"):  # 0.5 × 10^-decimals × the unit's factor
        decimals = max(0, (Decimal("0.5") * unit_factors()[unit] / Decimal(str(detail["base_tolerance"]))).adjusted())
    elif detail.get("declared_value") is not None:
        decimals = decimals_of(detail["declared_value"])
    elif declared is not None:
        as_printed = (Decimal(str(declared)) / unit_factors()[unit]).normalize()
        decimals = max(decimals_of(as_printed), decimals_of(published.get("value") or 0))
    else:
        decimals = decimals_of(published.get("value") or 0)
    return tuple(unit_amount(value, unit, min(decimals, MAX_DECIMALS)) for value in values), unit


def amounts(rule: dict[str, Any], row: dict[str, Any]) -> tuple[tuple[Decimal | None, ...], str]:
    """A finding's declared, computed values and their difference as numbers at their printed precision, and their
    unit: an indicator's in the unit it is printed in (see ``printed_amounts``), others by ``rounded`` ('')."""
    values = row["declared"], row["computed"], row["difference"]
    if rule["relation"] == blame.DECLARED_RELATION and rule["kind"] in ("declared", "consistency"):
        found = printed_amounts(row["measure"], values, row["row_detail"])
        if found:
            return found
    return tuple(rounded(value) for value in values), ""


def shown(rule: dict[str, Any], row: dict[str, Any]) -> tuple[str, ...]:
    """A finding's declared, computed values and their difference as printed (never 57.0381507235482)."""
    found, unit = amounts(rule, row)
    if unit:
        return tuple("—" if amount is None else f"{amount:f}{unit}" for amount in found)
    return tuple(number(amount) for amount in found)


def in_base_unit(rule: dict[str, Any], row: dict[str, Any]) -> tuple[str, ...] | None:
    """The values in the base unit (人, 元, …), whole or at 2 decimals, when they are printed in a larger one
    (27.01万人: '270100人'); None otherwise."""
    unit = amounts(rule, row)[1]
    if not unit or unit_factors()[unit] == 1:
        return None
    base = unit.removeprefix("万").removeprefix("亿")
    return tuple(f"{plain(row[side])}{base}" for side in ("declared", "computed", "difference"))


def compares(kind: str, rule: Rule | None) -> str:
    """What a rule compares, for a finding no side is blamed for: its declared side against its computed side."""
    names = KINDS.get(kind, Kind(kind, kind, "申报值 declared", "计算值 computed"))
    left, right, operator = names.declared, names.computed, "对比 vs"
    if rule and rule.left and rule.right:
        left += f"（{side_text(rule.left)}）"
        right += f"（{'、'.join(side_text(side) for side in rule.right)}）"
        operator = rule.operator
    return f"{left} {operator} {right}"


def side_text(side: Side) -> str:
    value = f"{side.relation}.{side.value}" if side.value else side.relation
    return f"{side.aggregate}({value})" if side.aggregate else value


# ---- Names -----------------------------------------------------------------------------------------

_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_LEADING_NAME = re.compile(rf"^[{_CJK}][{_CJK}0-9+/ ]*(?:\([^()]*\))?")
_BRACKETED_NAME = re.compile(r"\(([\u4e00-\u9fff]{2,})\)")
# An amount's or an energy's unit in a header: dropped, as the values shown are in the base unit (元, 千瓦时).
_UNIT_NOTE = re.compile(f"[(（](?:{'|'.join(unit for units in values.UNITS.values() for unit in units)})[)）]$")


def chinese_name(text: str) -> str | None:
    """The Chinese name a header or a description starts with, without an amount's unit ('资产总值(万元)': 资产总值;
    '目前总贷款余额户数 — households …': 目前总贷款余额户数), or gives in brackets ('Poverty-alleviation
    assets (扶贫项目资产) …': 扶贫项目资产)."""
    found = _LEADING_NAME.match(text.strip())
    if found:
        return _UNIT_NOTE.sub("", found[0]).strip(" /+") or None
    bracketed = _BRACKETED_NAME.search(text)
    return bracketed[1] if bracketed else None


@cache
def published_figures() -> dict[str, dict[str, str]]:
    """The published figures (the seed): indicator code to name_zh, value and unit as printed."""
    with open(config.REFERENCE_DIR / "ref_published_2021_figures.csv", encoding="utf-8") as handle:
        return {row["indicator_code"]: row for row in csv.DictReader(handle)}


@cache
def unit_factors() -> dict[str, Decimal]:
    """Declared unit to its factor to the base unit (万人: 10000; %: 1): the dbt vars count_units and
    unit_factors, the table dbt's indicator_units macro converts with."""
    by_base = [*config.DBT_VARS["count_units"].values(), *config.DBT_VARS["unit_factors"].values()]
    return {unit: Decimal(str(factor)) for factors in by_base for unit, factor in factors.items()}


@cache
def departments() -> dict[str, str]:
    """Owner code to the department's Chinese name, from the feed contracts: of the names a code goes by
    there, the shortest once notes in brackets are dropped (乡村振兴局, not 乡村振兴局（汇总各部门报送）);
    the dbt tests' owner is the warehouse's engineers."""
    names: dict[str, str] = {dbt_tests.OWNER: dbt_tests.OWNER_ZH}
    for contract in contracts().values():
        name = re.sub(r"（[^）]*）|\([^)]*\)", "", contract.department_zh).strip()
        if len(name) < len(names.get(contract.department, name + " ")):
            names[contract.department] = name
    return names


@cache
def dbt_docs() -> dict[str, dict[str, str]]:
    """Model name to its description ('') and its columns' descriptions, from the dbt manifest (none without it)."""
    if not config.DBT_MANIFEST.exists():
        return {}
    nodes = json.loads(config.DBT_MANIFEST.read_text(encoding="utf-8"))["nodes"].values()
    return {
        node["name"]: {"": node.get("description") or ""}
        | {name: column.get("description") or "" for name, column in node.get("columns", {}).items()}
        for node in nodes
        if node["resource_type"] == "model"
    }


@cache
def mart_names() -> dict[str, str]:
    """Mart to the Chinese name its dbt docs open with (mart_microcredit_league: 商丘市脱贫人口小额信贷通报表)."""
    found = {model: chinese_name(docs[""]) for model, docs in dbt_docs().items() if model.startswith("mart_")}
    return {model: name for model, name in found.items() if name}


@cache
def rules_by_id() -> dict[str, Rule]:
    return {rule.id: rule for path in sorted(config.RULES_DIR.glob("*.yml")) for rule in parse(path)}


@cache
def measure_name(measure: str, rule_id: str) -> str | None:
    """A measure's Chinese name: an indicator's published name (rules on the indicator report); a column's
    Chinese header in the contracts of the rule's feeds (汇总 sheet first), else its dbt docs in the rule's
    relations, then in any mart or model. None when unknown."""
    rule = rules_by_id().get(rule_id)
    if rule is None or rule.relation == blame.DECLARED_RELATION:
        return published_figures().get(measure, {}).get("name_zh")
    columns = {measure, measure.removesuffix("_yuan"), measure.removesuffix("_kwh")}
    for feed in sorted(rule_feed_names().get(rule_id, frozenset()) & set(contracts())):
        for section in sorted(contracts()[feed].sections, key=lambda s: s.role != "control_totals"):
            for column in section.columns:
                if column.name in columns and (name := chinese_name(next(iter(column.aliases)))):
                    return name
    models = sorted(dbt_docs(), key=lambda model: not model.startswith("mart_"))
    for model in [rule.relation, *sorted(rule.relations() - {rule.relation}), *models]:
        if name := chinese_name(dbt_docs().get(model, {}).get(measure, "")):
            return name
    return None


def gather(conn: psycopg.Connection[Any], month: dt.date) -> dict[str, Any]:
    """Everything the page shows for ``month``."""
    gate_run = conn.execute(
        """select g.gate_run_id, g.run_id, g.try_number, max(r.checked_at) as checked_at
           from dq.gate_runs as g inner join dq.rule_runs as r using (gate_run_id)
           where g.month_start = %s group by g.gate_run_id order by g.gate_run_id desc limit 1""",
        [month],
    ).fetchone()
    rules = rule_runs(conn, gate_run["gate_run_id"]) if gate_run else []
    decisions = conn.execute(
        """select publication_id, run_id, status, marts, held_back, flagged, rule_results, source_files,
                  rules_passed, rules_failed, rules_warned, reason, decided_at
           from dq.publications where month_start = %s order by publication_id""",
        [month],
    ).fetchall()
    found = failures(conn, month, rules)
    return {
        "month": month,
        "generated_at": dt.datetime.now(dt.UTC),
        "counties": counties(),
        "grid_counties": {code: name for code, name in counties().items() if code != config.CITY_CODE},
        "decisions": decisions,
        "outcome": outcome(decisions[-1]) if decisions else None,
        "gate_run": gate_run,
        "rules": rules,
        "failures": [rule for rule in found if rule["severity"] == "fail"],
        "warnings": [rule for rule in found if rule["severity"] != "fail"],
        "passed": [rule for rule in rules if rule["status"] == "passed"],
        "completeness": completeness(conn, month),
        "deliveries": deliveries(conn, month),
        "landing_findings": landing_findings(conn, month),
        "charts": month_charts(conn, month),
    }


def outcome(decision: dict[str, Any]) -> dict[str, Any]:
    """The latest decision, mart by mart: published, published with a warning flag, held back; with the rules why."""
    flagged = {mart: list(ids) for mart, ids in (decision.get("flagged") or {}).items()}
    why = (decision.get("rule_results") or {}).get("held_back") or {}
    return {
        "published": [mart for mart in decision["marts"] if mart not in flagged],
        "flagged": [(mart, flagged[mart]) for mart in decision["marts"] if mart in flagged],
        "held_back": [(mart, list(why.get(mart, []))) for mart in decision["held_back"]],
        "reason": decision["reason"],
    }


def rule_runs(conn: psycopg.Connection[Any], gate_run_id: int) -> list[dict[str, Any]]:
    """The rules one gate run checked, failures first."""
    return conn.execute(
        """select rule_run_id, rule_id, kind, relation, severity, status, owner, description_zh, description_en,
                  unexpected_count, error
           from dq.rule_runs where gate_run_id = %s
           order by status = 'passed', severity, rule_id""",
        [gate_run_id],
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
    """The offending rows of each failed rule, each with its lineage (see ``lineage``), its measure's name and
    its values as printed (see ``shown``); ``summary``: the lines the page opens with (see ``summarise``)."""
    failed = [rule for rule in rules if rule["status"] != "passed"]
    rows = conn.execute(
        """select rule_run_id, county_code, measure, declared, computed, difference, row_detail,
                  blame, explanation_zh, explanation_en
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
            {
                **row,
                "lineage": lineage(row["row_detail"], loads, rule_feeds, month),
                "measure_name": (row["measure"] and measure_name(row["measure"], rule["rule_id"]))
                or row["row_detail"].get("indicator_name"),
                "shown": shown(rule, row),
                "amounts": amounts(rule, row),
                "in_base_unit": in_base_unit(rule, row),
            }
            for row in rows
            if row["rule_run_id"] == rule["rule_run_id"]
        ]
        summary = summarise(offending)[:SUMMARY_LINES]
        result.append(
            {
                **rule,
                "rows": offending,
                "summary": summary,
                "left_out": rule["unexpected_count"] - sum(line["count"] for line in summary),
                "feeds": sorted(rule_feeds),
                "compares": compares(rule["kind"], rules_by_id().get(rule["rule_id"])),
            }
        )
    return result


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A finding's offending rows as summary lines, the 商丘市 row first, then the counties in order: one line
    per row, except that rows which read the same (measure, group, values as printed, blame and why) share one line
    with all their places (``places``), sources (``sources``) and how many rows it stands for (``count``)."""
    order = {code: i for i, code in enumerate(counties())} | {config.CITY_CODE: -1}
    lines: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in sorted(rows, key=lambda row: (order.get(row["county_code"], len(order)), row["measure"] or "")):
        group = row["row_detail"].get("group_key")  # a rule checked per group (`by`) names its group
        key = (row["measure"], group, row["shown"][:2], row["blame"], row["explanation_zh"], row["explanation_en"])
        line = lines.setdefault(key, {**row, "places": [], "sources": [], "count": 0})
        line["count"] += 1
        if row["county_code"] not in line["places"]:
            line["places"].append(row["county_code"])
        line["sources"] += [source for source in row["lineage"] if source not in line["sources"]]
    return list(lines.values())


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
        """select c.feed, f.name_zh, f.department, c.county_code, c.status, c.detail_rows, c.versions_loaded,
                  c.first_received_at, c.deadline_at
           from ops.feed_completeness as c inner join ops.feeds as f on f.feed = c.feed
           where c.feed_month = %s order by f.department, c.feed""",
        [month],
    ).fetchall()
    grid: dict[str, dict[str, Any]] = {}
    for cell in cells:
        row = grid.setdefault(
            cell["feed"],
            {"feed": cell["feed"], "name_zh": cell["name_zh"], "department": cell["department"], "cells": {}},
        )
        row["cells"][cell["county_code"]] = cell
    return list(grid.values())


def deliveries(conn: psycopg.Connection[Any], month: dt.date) -> list[dict[str, Any]]:
    """Every delivery of ``month`` that was read (``ops.loads``), by feed and version; ``restated``: a loaded version
    after a loaded earlier one (``previous_version``, ``previous_detail_rows``: the latest such)."""
    rows = conn.execute(
        """select l.feed, l.file_name, l.file_sha256, l.version, l.status, l.is_current, l.detail_rows,
                  l.control_rows, l.rejected_rows, l.received_at, l.loaded_at,
                  p.version as previous_version, p.detail_rows as previous_detail_rows
           from ops.loads as l
           left join lateral (
               select e.version, e.detail_rows from ops.loads as e
               where e.feed = l.feed and e.feed_month = l.feed_month and e.status = 'loaded' and e.version < l.version
               order by e.version desc limit 1
           ) as p on true
           where l.feed_month = %s order by l.feed, l.version""",
        [month],
    ).fetchall()
    return [row | {"restated": row["status"] == "loaded" and row["previous_version"] is not None} for row in rows]


def landing_findings(conn: psycopg.Connection[Any], month: dt.date) -> list[dict[str, Any]]:
    """What the landing folder held at the month's run that was not loaded, and why (``ops.landing_findings``):
    errors first."""
    return conn.execute(
        """select scope, feed, feed_month, file_name, file_sha256, file_bytes, rule, severity, expected, found,
                  run_id, created_at
           from ops.landing_findings where run_month = %s
           order by array_position(array['error', 'warn', 'info'], severity), scope, file_name, rule""",
        [month],
    ).fetchall()


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
               select distinct on (month_start) month_start, gate_run_id from dq.gate_runs
               where month_start between %s and %s order by month_start, gate_run_id desc)
           select latest.month_start, count(*) filter (where runs.status <> 'passed') as failed
           from latest inner join dq.rule_runs as runs using (gate_run_id)
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
    the month is the latest one stored before its outcomes were recorded in ``dq``. Only its pages
    (and the index) are rendered: the store keeps every run ever made, and rendering all of them
    took 30 s of every report.
    """
    from include.gate import gx_context  # noqa: PLC0415  (GX is a heavy import)

    context = gx_context._context()
    latest: dict[str, Any] = {}
    if checked_at is not None:
        for key in context.validation_results_store.list_keys():
            suite, when = key.expectation_suite_identifier.name, key.run_id.run_time
            if when <= checked_at and (suite not in latest or when > latest[suite].run_id.run_time):
                latest[suite] = key
    if latest:
        sites = context.build_data_docs(resource_identifiers=list(latest.values()))
    else:  # GX renders every stored result when given none: link the index as it stands
        sites = {site["site_name"]: site["site_url"] for site in context.get_docs_sites_urls()}
    pages = []
    for suite, key in sorted(latest.items()):
        for site in context.get_docs_sites_urls(resource_identifier=key):
            pages.append({"suite": suite, "run_time": key.run_id.run_time, "url": site["site_url"]})
    return {"index": [site for site in sites.values()], "pages": pages}
