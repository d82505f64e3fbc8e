"""The auditor's report without a database: values at their printed precision, Chinese names, the page's order."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from include import audit_report
from include.audit_report import (
    KINDS,
    chinese_name,
    compares,
    departments,
    measure_name,
    plain,
    printed,
    render,
    rules_by_id,
    shown,
    summarise,
)
from include.gate.rules import TEMPLATES

DECEMBER = dt.date(2021, 12, 1)
CITY = "411400"
INDICATORS = {"kind": "declared", "relation": "stg_indicator_report__indicators"}


def test_plain_values_are_whole_or_have_two_decimals_at_most():
    assert [plain(v) for v in (48612, Decimal("48612.000"), "3.0000", -1)] == ["48612", "48612", "3", "-1"]
    assert [plain(v) for v in ("57.0381507235482", 24.405, Decimal("1234.5"))] == ["57.04", "24.41", "1234.5"]
    assert plain(None) == "—"


def test_an_indicator_is_shown_in_its_printed_unit_at_its_printed_decimals():
    # A rate as the seed prints it (57.03%): the computed rate at the same two decimals, never 57.0381507235482.
    assert printed("microcredit_balance_household_rate", ("57.03", "57.0381507235482", None), {}) == (
        "57.03%",
        "57.04%",
        "—",
    )
    # 农村低保对象 27.01 万人, declared and computed in persons (the base unit).
    assert printed("dibao_persons", (270100, 270345, -245), {}) == ("27.01万人", "27.03万人", "-0.02万人")
    # A county declaring more digits than the city prints keeps them (1.2345 万人), at least the seed's.
    assert printed("dibao_persons", (12345, 12344, 1), {}) == ("1.2345万人", "1.2344万人", "0.0001万人")
    assert printed("dibao_persons", (12000, 12344, -344), {}) == ("1.20万人", "1.23万人", "-0.03万人")
    # The printed number and unit on the offending row win: trailing zeros count, another unit is used.
    detail = {"declared_value": "27.010", "declared_unit": "万人"}
    assert printed("dibao_persons", (270100, 270345, -245), detail)[:2] == ("27.010万人", "27.035万人")
    detail = {"declared_value": "270100", "declared_unit": "人"}
    assert printed("dibao_persons", (270100, 270345, -245), detail)[:2] == ("270100人", "270345人")
    assert printed("no_such_code", (1, 2, -1), {}) is None, "no unit known: not shown as an indicator"


def test_shown_uses_the_printed_precision_only_for_the_indicator_report():
    row = {"measure": "microcredit_balance_household_rate", "row_detail": {}}
    values = {"declared": Decimal("57.03"), "computed": Decimal("57.0381507235482"), "difference": Decimal("-0.0081")}
    assert shown(INDICATORS, row | values) == ("57.03%", "57.04%", "-0.01%")
    assert shown({**INDICATORS, "kind": "consistency"}, row | values)[0] == "57.03%"
    other = {"kind": "ratio", "relation": "stg_microcredit__control_totals"}
    assert shown(other, row | values) == ("57.03", "57.04", "-0.01")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("资产总值(万元)", "资产总值"),  # an amount's unit goes: the values are shown in 元
        ("突发严重困难户(人)", "突发严重困难户(人)"),  # persons and households stay apart
        ("其中：衔接资金(万元)", "其中：衔接资金"),
        ("目前总贷款余额户数 — households (not accounts) with a balance", "目前总贷款余额户数"),
        ("资产数 on the register at month-end", "资产数"),
        ("Poverty-alleviation assets (扶贫项目资产) registered by category", "扶贫项目资产"),
        ("Village PV stations settled in the month", None),
    ],
)
def test_chinese_name_of_a_header_or_a_description(text, name):
    assert chinese_name(text) == name


def test_every_kind_and_every_owner_has_a_chinese_name():
    assert set(TEMPLATES) | {"dbt_test", "dbt_unit_test"} <= set(KINDS)
    assert all(re.search(r"[\u4e00-\u9fff]", kind.zh) for kind in KINDS.values())
    owners = {rule.owner for rule in rules_by_id().values()}
    assert owners <= set(departments()), owners - set(departments())
    assert departments()["rural_revitalization"] == "乡村振兴局", "the shortest name, without its note"
    assert departments()["civil_affairs"] == "民政局"


def test_measure_names_come_from_the_seed_the_contracts_or_the_dbt_docs():
    rate = measure_name("microcredit_balance_household_rate", "indicators_declared_equal_computed")
    assert rate == "总贷款余额户贷率"
    # 监测户 in the microcredit 汇总 is 享受政策的监测户数, not the indicator report's 三类户 of the same code.
    assert measure_name("monitored_households", "microcredit_league_county_sum") == "享受政策的监测户数"
    assert measure_name("asset_value_yuan", "assets_control_totals_county_sum_value") == "资产总值"
    assert measure_name("no_such_column", "microcredit_league_county_sum") is None


def test_compares_names_both_sides():
    assert compares("hierarchy", rules_by_id()["microcredit_league_county_sum"]) == (
        "商丘市行 the 商丘市 row 对比 vs 各县（市、区）之和 the sum of the counties"
    )
    text = compares("comparison", rules_by_id()["microcredit_control_totals_match_detail"])
    assert text.startswith("左边 left（stg_microcredit__control_totals") and " = 右边 right（" in text


def rule(rule_id, kind, severity, status, rows=(), **more):
    """A rule run as ``audit_report.failures`` gathers it, with its offending ``rows``."""
    summary = summarise(list(rows))[: audit_report.SUMMARY_LINES]
    return {
        "rule_run_id": 1,
        "rule_id": rule_id,
        "kind": kind,
        "relation": more.pop("relation", "mart_microcredit_league"),
        "severity": severity,
        "status": status,
        "owner": "finance",
        "description_zh": f"{rule_id} 说明",
        "description_en": f"{rule_id} description",
        "unexpected_count": len(rows),
        "error": None,
        "feeds": ["microcredit"],
        "compares": "左 vs 右",
        "rows": list(rows),
        "summary": summary,
        "left_out": len(rows) - sum(line["count"] for line in summary),
        **more,
    }


def failure(county, measure, declared, computed, of=INDICATORS, **more):
    """An offending row as ``audit_report.failures`` gathers it; ``of``: its rule's kind and relation."""
    row = {
        "county_code": county,
        "measure": measure,
        "declared": Decimal(declared),
        "computed": Decimal(computed),
        "difference": Decimal(declared) - Decimal(computed),
        "row_detail": {},
        "blame": None,
        "explanation_zh": None,
        "explanation_en": None,
        "lineage": [
            {"file_name": "巩固衔接指标报表_2021-12.xlsx", "version": 1, "sheet": "明细", "row": 7, "file_sha256": "ab"}
        ],
        "measure_name": None,
        **more,
    }
    return row | {"shown": shown(of, row)}


@pytest.fixture()
def page(monkeypatch) -> str:
    monkeypatch.setattr(audit_report, "mart_names", lambda: {"mart_microcredit_league": "小额信贷通报表"})
    truncated = failure(
        CITY,
        "microcredit_balance_household_rate",
        "57.03",
        "57.0381507235482",
        measure_name="总贷款余额户贷率",
        blame="declared",
        explanation_zh="计算方通过自身校验 <b>",
        explanation_en="the mart passes its own checks",
    )
    outlier = {"kind": "outlier", "relation": "mart_microcredit_league"}
    counties = [
        failure(code, "new_households", str(10 + i), "21.5", of=outlier, measure_name="当年新增户数")
        for i, code in enumerate([*audit_report.counties(), *audit_report.counties()][:14])
    ]
    missing = [failure(code, "counties_missing", "1", "0", of=outlier) for code in audit_report.counties()]
    rules = [
        rule(
            "indicators_declared_equal_computed",
            "declared",
            "fail",
            "failed",
            relation="stg_indicator_report__indicators",
            rows=[truncated],
        ),
        rule("microcredit_new_jump", "outlier", "warn", "failed", rows=counties),
        rule("feed_missing_for_county", "outlier", "warn", "failed", rows=missing),
        rule("microcredit_league_county_sum", "hierarchy", "fail", "passed"),
    ]
    facts = {
        "month": DECEMBER,
        "counties": audit_report.counties(),
        "grid_counties": {},
        "decisions": [],
        "outcome": {
            "published": ["mart_subsidies"],
            "flagged": [("mart_microcredit_league", ["microcredit_new_jump"])],
            "held_back": [("mart_employment", ["indicators_declared_equal_computed"])],
            "reason": None,
        },
        "gate_run": None,
        "rules": rules,
        "failures": [rules[0]],
        "warnings": rules[1:3],
        "passed": [rules[3]],
        "completeness": [],
        "charts": {"league": None, "balance_trend": "", "failed_trend": ""},
        "data_docs": {"index": [], "pages": []},
    }
    return render(facts)


def between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end)]


def test_page_opens_with_the_outcome_and_the_findings_then_failures_warnings_and_collapsed_passed(page):
    order = [page.index(f'<section id="{name}">') for name in ("outcome", "findings", "failures", "warnings", "passed")]
    assert order == sorted(order)
    passed = between(page, '<section id="passed">', '<section id="decisions">')
    assert "<details>" in passed and 'data-rule="microcredit_league_county_sum"' in passed
    outcome = between(page, '<section id="outcome">', '<section id="findings">')
    assert "小额信贷通报表 <code>mart_microcredit_league</code>" in outcome
    assert 'href="#rule-microcredit_new_jump"' in outcome and "已发布但附警示" in outcome
    findings = between(page, '<section id="findings">', '<section id="failures">')
    assert findings.index("indicators_declared_equal_computed") < findings.index("microcredit_new_jump")


def test_summary_lines_are_chinese_at_printed_precision_with_blame_and_source(page):
    findings = between(page, '<section id="findings">', '<section id="failures">')
    lines = re.findall(r'<li class="line"[^>]*>(.*?)</li>', findings, re.S)
    assert len(lines) == 1 + audit_report.SUMMARY_LINES + 1, "the long list is cut"
    first = re.sub(r"<[^>]+>", "", lines[0])
    city = "商丘市 · 总贷款余额户贷率 microcredit_balance_household_rate"
    assert first.startswith(f"{city}：申报值 57.03%，计算值 57.04%。")
    assert "申报数存疑" in first and "计算方通过自身校验 &lt;b&gt;" in first, "escaped"
    assert "巩固衔接指标报表_2021-12.xlsx" in first and "第 7 行" in first
    assert not re.search(r"\d\.\d{3,}", findings), "no value beyond its printed decimals"
    assert "另有 4 处未列出" in findings
    assert "未判定归因" in re.sub(r"<[^>]+>", "", lines[1]), "no blame: what the rule compares instead"


def test_rows_that_read_the_same_share_one_summary_line_naming_their_places(page):
    findings = between(page, '<section id="findings">', '<section id="failures">')
    [line] = re.findall(r'<li class="line" data-rule="feed_missing_for_county"[^>]*>(.*?)</li>', findings, re.S)
    text = re.sub(r"<[^>]+>", "", line)
    names = list(audit_report.counties().values())
    assert text.startswith("商丘市、" + "、".join(names[: audit_report.PLACES_SHOWN - 1]) + " 等 11 地"), text
    assert "申报值 1，计算值 0（11 处 rows）" in text
    assert 'data-rows="11"' in findings and "另有" not in between(findings, "feed_missing_for_county", "</article>")


def test_the_failure_details_keep_the_exact_value_beside_the_printed_one(page):
    failures = between(page, '<section id="failures">', '<section id="warnings">')
    assert "57.03%" in failures and "57.0381507235482" in failures
    assert "申报值核对" in failures and "金融办 / 合作银行" in failures
