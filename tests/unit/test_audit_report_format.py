"""The auditor's report without a database: values at their printed precision, Beijing time whatever the time
zone, Chinese names, the page's order, and the workbook's cells (numbers as numbers, formula-like texts as texts)."""

import datetime as dt
import re
import time
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from include import audit_report, report_pdf, report_xlsx
from include.audit_report import (
    KINDS,
    amounts,
    beijing,
    chinese_name,
    compares,
    departments,
    in_base_unit,
    measure_name,
    plain,
    printed,
    render,
    rules_by_id,
    shown,
    summarise,
)
from include.deploy import packages
from include.gate.rule_sql import TEMPLATES
from include.report_cells import formula_like, put

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


def test_the_printed_decimals_come_from_the_rounding_the_figure_allows_not_from_a_float():
    # dq.rule_failures.row_detail is JSON: a printed 48612 comes back as 48612.0, a printed 27.010万人 as 27.01.
    detail = {"declared_value": 48612.0, "declared_unit": "户", "base_tolerance": 0.5}
    assert printed("microcredit_new_households", (48612.0, 48059.0, 553.0), detail) == ("48612户", "48059户", "553户")
    detail = {"declared_value": 27.01, "declared_unit": "万人", "base_tolerance": 5.0}  # 0.5 × 0.001 万人
    assert printed("dibao_persons", (270100, 270345, -245), detail) == ("27.010万人", "27.035万人", "-0.025万人")
    detail = {"declared_value": 22.14, "declared_unit": "%", "base_tolerance": 0.005}
    assert printed("x", (22.14, 23.46990827192319, -1.3299082719231925), detail) == ("22.14%", "23.47%", "-1.33%")


def test_shown_uses_the_printed_precision_only_for_the_indicator_report():
    row = {"measure": "microcredit_balance_household_rate", "row_detail": {}}
    values = {"declared": Decimal("57.03"), "computed": Decimal("57.0381507235482"), "difference": Decimal("-0.0081")}
    assert shown(INDICATORS, row | values) == ("57.03%", "57.04%", "-0.01%")
    assert shown({**INDICATORS, "kind": "consistency"}, row | values)[0] == "57.03%"
    other = {"kind": "ratio", "relation": "stg_microcredit__control_totals"}
    assert shown(other, row | values) == ("57.03", "57.04", "-0.01")
    # The workbook's numbers are the same values, as numbers carrying the printed decimals.
    assert amounts(INDICATORS, row | values) == ((Decimal("57.03"), Decimal("57.04"), Decimal("-0.01")), "%")
    assert amounts(other, row | values)[0] == (Decimal("57.03"), Decimal("57.04"), Decimal("-0.01"))
    assert in_base_unit(INDICATORS, row | values) is None, "a rate has no larger unit"
    persons = {"measure": "dibao_persons", "row_detail": {}, "declared": 270100, "computed": 270345, "difference": -245}
    assert in_base_unit(INDICATORS, persons) == ("270100人", "270345人", "-245人")


@pytest.fixture()
def elsewhere(monkeypatch):
    """This process in another time zone than Beijing's (and UTC's): a time shown in it would read differently."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_beijing_time_whatever_the_time_zone(elsewhere):
    assert time.strftime("%Z") in ("PST", "PDT"), "the process really is elsewhere"
    midnight = dt.datetime(2022, 1, 11, tzinfo=ZoneInfo("Asia/Shanghai"))  # a deadline, as a server in Beijing gives it
    for moment in (
        midnight,
        midnight.astimezone(dt.UTC),  # as a server in UTC gives it
        midnight.astimezone(ZoneInfo("America/New_York")),
        midnight.astimezone(dt.UTC).replace(tzinfo=None),  # GX's run times: naive UTC
    ):
        assert beijing(moment) == "2022-01-11 00:00:00 北京时间", moment
    assert beijing(midnight, "%Y-%m-%d") == "2022-01-11 北京时间"
    assert beijing(None) == "—"


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
    return row | {"shown": shown(of, row), "amounts": amounts(of, row), "in_base_unit": in_base_unit(of, row)}


HOSTILE = ['=HYPERLINK("http://x","y")', "@SUM(1)", "+1+1", "-2+3", "\t=1", "\r=cmd|' /C calc'!A0"]
DECIDED = dt.datetime(2022, 1, 11, 1, 2, 3, tzinfo=dt.UTC)  # 09:02:03 in Beijing
RECEIVED = dt.datetime(2022, 1, 5, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture()
def facts(monkeypatch) -> dict:
    """A month as ``audit_report.gather`` gathers it, with texts a spreadsheet would take for formulas."""
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
    hostile = failure(
        "411421",
        "new_households",
        "-3",
        "4.25",
        of=outlier,
        measure_name=HOSTILE[1],
        explanation_zh=HOSTILE[2],
        explanation_en=HOSTILE[3],
        lineage=[{"file_name": HOSTILE[0], "version": 2, "sheet": HOSTILE[4], "row": 3, "file_sha256": HOSTILE[5]}],
    )
    rules = [
        rule(
            "indicators_declared_equal_computed",
            "declared",
            "fail",
            "failed",
            relation="stg_indicator_report__indicators",
            rows=[truncated],
        ),
        rule("microcredit_new_jump", "outlier", "warn", "failed", rows=[*counties, hostile]),
        rule("feed_missing_for_county", "outlier", "warn", "failed", rows=missing),
        rule("microcredit_league_county_sum", "hierarchy", "fail", "passed"),
    ]
    decision = {
        "publication_id": 7,
        "run_id": HOSTILE[0],
        "status": "partial",
        "marts": ["mart_subsidies", "mart_microcredit_league"],
        "held_back": ["mart_employment"],
        "flagged": {"mart_microcredit_league": ["microcredit_new_jump"]},
        "rule_results": {},
        "source_files": [{"file_name": HOSTILE[0], "feed": "microcredit", "version": 1, "sha256": "cd"}],
        "rules_passed": 1,
        "rules_failed": 1,
        "rules_warned": 2,
        "reason": HOSTILE[1],
        "decided_at": DECIDED,
    }
    cell = {"status": "late", "detail_rows": 5, "versions_loaded": 1, "first_received_at": RECEIVED}
    feed = {
        "feed": "social_assistance",
        "name_zh": "社会救助",
        "department": "civil_affairs",
        "cells": {"411421": cell | {"deadline_at": dt.datetime(2022, 1, 10, 16, tzinfo=dt.UTC)}},
    }
    return {
        "month": DECEMBER,
        "generated_at": DECIDED,
        "counties": audit_report.counties(),
        "grid_counties": {code: name for code, name in audit_report.counties().items() if code != CITY},
        "decisions": [decision],
        "outcome": {
            "published": ["mart_subsidies"],
            "flagged": [("mart_microcredit_league", ["microcredit_new_jump"])],
            "held_back": [("mart_employment", ["indicators_declared_equal_computed"])],
            "reason": None,
        },
        "gate_run": {"gate_run_id": 7, "run_id": HOSTILE[0], "try_number": 2, "checked_at": DECIDED},
        "rules": rules,
        "failures": [rules[0]],
        "warnings": rules[1:3],
        "passed": [rules[3]],
        "completeness": [feed],
        "deliveries": [
            {
                "feed": "microcredit",
                "file_name": HOSTILE[0],
                "file_sha256": "ef",
                "version": version,
                "status": "loaded",
                "is_current": version == 2,
                "detail_rows": rows,
                "control_rows": 3,
                "rejected_rows": 0,
                "received_at": RECEIVED,
                "loaded_at": DECIDED,
                "previous_version": previous,
                "previous_detail_rows": 5 if previous else None,
                "restated": previous is not None,
            }
            for version, rows, previous in ((1, 5, None), (2, 6, 1))
        ],
        "landing_findings": [
            {
                "scope": "",
                "feed": None,
                "feed_month": None,
                "file_name": HOSTILE[2],
                "file_sha256": None,
                "file_bytes": None,
                "rule": "unknown_department",
                "severity": "warn",
                "expected": "a folder named after a feed with a contract",
                "found": HOSTILE[3],
                "run_id": HOSTILE[0],
                "created_at": DECIDED,
            }
        ],
        "charts": {"league": None, "balance_trend": "", "failed_trend": ""},
        "data_docs": {"index": [], "pages": [{"suite": "s", "run_time": DECIDED.replace(tzinfo=None), "url": "x"}]},
    }


@pytest.fixture()
def page(facts) -> str:
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
    assert "另有 5 处未列出" in findings, "15 rows of microcredit_new_jump, 10 shown"
    assert "未判定归因" in re.sub(r"<[^>]+>", "", lines[1]), "no blame: what the rule compares instead"


def test_rows_that_read_the_same_share_one_summary_line_naming_their_places(page):
    findings = between(page, '<section id="findings">', '<section id="failures">')
    [line] = re.findall(r'<li class="line" data-rule="feed_missing_for_county"[^>]*>(.*?)</li>', findings, re.S)
    text = re.sub(r"<[^>]+>", "", line)
    names = list(audit_report.counties().values())
    assert text.startswith("商丘市、" + "、".join(names[: audit_report.PLACES_SHOWN - 1]) + " 等 11 地"), text
    assert "申报值 1，计算值 0（11 处 rows）" in text
    assert 'data-rows="11"' in findings and "另有" not in between(findings, "feed_missing_for_county", "</article>")


def test_the_failure_details_show_printed_values_never_raw_floats(page):
    failures = between(page, '<section id="failures">', '<section id="warnings">')
    assert "57.03%" in failures and "57.04%" in failures
    assert not re.search(r"\d\.\d{3,}", re.sub(r"<[^>]+>", " ", page)), "no value beyond its printed decimals"
    assert "申报值核对" in failures and "金融办 / 合作银行" in failures


def test_the_page_gives_every_time_in_beijing_time(facts, elsewhere):
    page = render(facts)
    text = re.sub(r"<[^>]+>", "", page)
    assert "2022-01-11 09:02:03 北京时间" in between(text, "本月结论", "目录"), "the decision, the gate run, generated"
    assert between(text, "本月结论", "目录").count("北京时间") == 3
    assert "2022-01-11 09:02:03 北京时间" in between(page, '<section id="decisions">', '<section id="completeness">')
    assert "收到 received 2022-01-05 09:00 北京时间, 截止 deadline 2022-01-11 00:00 北京时间" in page
    assert "01:02:03" not in text and "UTC" not in text and "PST" not in text
    assert '民政局 <span class="code">civil_affairs</span>' in page, "the department by its Chinese name"


def sheets(path) -> dict[str, list[list]]:
    book = openpyxl.load_workbook(path)
    return {sheet.title: [[cell for cell in row] for row in sheet.iter_rows()] for sheet in book}


def test_the_workbook_has_every_sheet_with_bilingual_headers(facts, tmp_path, elsewhere):
    book = sheets(report_xlsx.write(facts, tmp_path / "report.xlsx"))
    assert [title.split()[0] for title in book] == ["摘要", "失败", "警告", "完整性", "发布", "规则", "报送", "未加载"]
    for title, rows in book.items():
        for header in [cell.value for cell in rows[0] if cell.value]:
            assert re.match(r"^[\u4e00-\u9fff（）、]+.* [A-Za-z]", header), f"{title}: {header}"
    failures = {title: [[c.value for c in row] for row in rows[1:]] for title, rows in book.items()}
    assert len(failures["失败 Failures"]) == 1 and len(failures["警告 Warnings"]) == 14 + 1 + 11
    assert len(failures["规则 Rules"]) == 4 and len(failures["发布 Publications"]) == 1
    rules = {row[0]: row for row in failures["规则 Rules"]}
    assert rules["microcredit_league_county_sum"][1:5] == [
        "通过 Passed",
        "阻断 Blocking",
        "上下级汇总 counties add up",
        "金融办 / 合作银行 finance",
    ]


def test_the_workbook_keeps_numbers_at_their_printed_decimals_and_times_in_beijing(facts, tmp_path, elsewhere):
    book = sheets(report_xlsx.write(facts, tmp_path / "report.xlsx"))
    header = [cell.value for cell in book["失败 Failures"][0]]
    row = book["失败 Failures"][1]
    declared, computed, unit = (row[header.index(name)] for name in ("申报值 Declared", "计算值 Computed", "单位 Unit"))
    assert (declared.value, computed.value, unit.value) == (57.03, 57.04, "%")
    assert declared.data_type == computed.data_type == "n" and computed.number_format == "0.00"
    [hostile] = [row for row in book["警告 Warnings"] if row[header.index("来源文件 Source file")].value == HOSTILE[0]]
    values = {header[i]: cell for i, cell in enumerate(hostile)}
    assert values["申报值 Declared"].value == -3 and values["申报值 Declared"].data_type == "n", "numbers stay numbers"
    assert values["计算值 Computed"].value == 4.25 and values["计算值 Computed"].number_format == "0.00"
    publication = dict(zip([c.value for c in book["发布 Publications"][0]], book["发布 Publications"][1], strict=True))
    decided = publication["决定时间（北京时间） Decided at (Beijing time)"]
    assert decided.is_date and decided.value == dt.datetime(2022, 1, 11, 9, 2, 3)
    completeness = dict(
        zip([c.value for c in book["完整性 Completeness"][0]], book["完整性 Completeness"][1], strict=True)
    )
    assert completeness["截止时间（北京时间） Deadline (Beijing time)"].value == dt.datetime(2022, 1, 11)
    assert completeness["首次收到（北京时间） First received (Beijing time)"].value == dt.datetime(2022, 1, 5, 9)
    assert completeness["报送状态 Status"].value == "逾期 Late"
    assert completeness["责任部门 Department"].value == "民政局 civil_affairs"
    summary = {row[0].value: row[1] for row in book["摘要 Summary"] if row[0].value}
    assert summary["生成时间（北京时间） Generated at (Beijing time)"].value == dt.datetime(2022, 1, 11, 9, 2, 3)
    assert summary["本月结论 Decision"].value == "部分发布 Partly published"


def test_no_text_in_the_workbook_is_a_formula(facts, tmp_path):
    path = report_xlsx.write(facts, tmp_path / "report.xlsx")
    with zipfile.ZipFile(path) as archive:  # read as a spreadsheet program would, not through openpyxl
        sheets_xml = [archive.read(name).decode() for name in archive.namelist() if name.startswith("xl/worksheets/")]
    assert sheets_xml and not any("<f>" in xml or "<f " in xml for xml in sheets_xml), "no cell holds a formula"
    found = [
        cell
        for rows in sheets(path).values()
        for row in rows
        for cell in row
        if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@", "\t", "\n"))
    ]
    hostile = {text.replace("\r", "\n") for text in HOSTILE}  # XML reads a carriage return as a line feed
    assert hostile <= {cell.value for cell in found}, hostile - {cell.value for cell in found}
    unprotected = [cell.coordinate for cell in found if not (cell.data_type == "s" and cell.quotePrefix)]
    assert not unprotected, "every formula-like text is a literal string"


@pytest.mark.parametrize("text", [*HOSTILE, "=1+1", "-", "@", "+86 370"])
def test_a_formula_like_text_is_written_as_a_literal_string(text, tmp_path):
    book = openpyxl.Workbook()
    put(book.active["A1"], text)
    put(book.active["A2"], -51000)
    put(book.active["A3"], "商丘市 = 411400")
    book.save(tmp_path / "x.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "x.xlsx").active
    assert (sheet["A1"].data_type, sheet["A1"].quotePrefix) == ("s", True)
    assert sheet["A1"].value in (text, text.replace("\r", "\n")), "XML reads a carriage return as a line feed"
    assert (sheet["A2"].value, sheet["A2"].data_type, sheet["A2"].quotePrefix) == (-51000, "n", False)
    assert (sheet["A3"].data_type, sheet["A3"].quotePrefix) == ("s", False), "an ordinary text is left alone"
    assert formula_like(text) and not formula_like(-1) and not formula_like("商丘市")


def test_a_text_with_characters_a_workbook_cannot_hold_loses_them(tmp_path):
    book = openpyxl.Workbook()
    put(book.active["A1"], "=a\x00b\x1fc")
    book.save(tmp_path / "x.xlsx")
    cell = openpyxl.load_workbook(tmp_path / "x.xlsx").active["A1"]
    assert (cell.value, cell.data_type) == ("=abc", "s")


def test_without_chromium_the_pdf_is_skipped_in_one_line(tmp_path, monkeypatch, capsys):
    def missing(*names):
        raise packages.Missing("installing chromium needs root: apt-get install -y chromium")

    monkeypatch.setattr(packages, "ensure", missing)
    stale = tmp_path / "report.pdf"
    stale.write_bytes(b"%PDF- an older month's")
    assert report_pdf.print_pdf(tmp_path / "index.html", stale) is None
    assert not stale.exists(), "no PDF that is not the page's"
    [line] = capsys.readouterr().out.splitlines()
    assert "report.pdf skipped" in line and "needs root" in line
