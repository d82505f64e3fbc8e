"""The auditor's report as headless Chromium renders it, as a workbook, and as a PDF.

A real December run (Airflow, dbt, GX) publishes; then the city row of the candidate
league table is made one household larger than its counties, and the real gate
holds the month back. The report of that month is written with this process in another
time zone than Beijing's and the database session in UTC, loaded in Chromium, offline, and
the test reads what Chromium shows: what was published, the summary of the findings
(in Chinese, at printed precision), the failed rules, the warnings, the passed rules
(collapsed), decisions, the failing rows with their source file, the completeness
grid, the charts. The workbook is read back with openpyxl and checked against ``dq`` and
``ops``; the PDF with poppler's tools (page size, text, fonts, page numbers, a page image).
"""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import psycopg
import pytest

DECEMBER = dt.date(2021, 12, 1)
CITY = "411400"
CANDIDATE = "candidate.mart_microcredit_league"
# Must reach the page as text, never as markup, and the workbook as a text, never as a formula.
RUN_ID = '=HYPERLINK("http://x") audit-report <i>run</i> & "quoted"'
BEIJING = ZoneInfo("Asia/Shanghai")
REPORT_FILES = ("index.html", "report.xlsx", "report.pdf")
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def poppler(chromium) -> None:
    from include.deploy import packages

    if not packages.available("pdftoppm", "pdftotext"):  # poppler-utils, with pdfinfo and pdffonts
        pytest.skip("poppler-utils is not installed and installing it needs root: see the line above")


@pytest.fixture(scope="module")
def held_back(run_dag, warehouse) -> dict[str, Any]:
    """December published, then gated again with a league table whose city row exceeds its counties by one.

    ``dag_wrote``: the report files the DAG's report task wrote (each file's name, whether it is newer than the run)."""
    from include import config
    from include.pipeline import publish_month, validate_month

    started = time.time()
    assert run_dag(DECEMBER) == "success"
    folder = config.REPORTS_DIR / "2021-12"
    dag_wrote = {name: (folder / name).exists() and (folder / name).stat().st_mtime >= started for name in REPORT_FILES}
    with psycopg.connect(warehouse.url("transformer"), autocommit=True) as conn:
        city, counties = conn.execute(
            f"""select sum(new_households) filter (where county_code = %s),
                       sum(new_households) filter (where county_code <> %s)
                from {CANDIDATE} where month_start = %s""",
            [CITY, CITY, DECEMBER],
        ).fetchone()
        shift = f"update {CANDIDATE} set new_households = new_households + %s"
        shift += " where month_start = %s and county_code = %s"
        conn.execute(shift, [1, DECEMBER, CITY])
        try:
            decision = publish_month(validate_month(DECEMBER, RUN_ID), RUN_ID)
        finally:
            conn.execute(shift, [-1, DECEMBER, CITY])
    assert "mart_microcredit_league" in decision["held_back"] and "mart_microcredit_league" not in decision["published"]
    return {"city": city, "counties": counties, "dag_wrote": dag_wrote}


@pytest.fixture(scope="module")
def written(held_back) -> Any:
    """The month's report as ``make report`` writes it, with this process in Los Angeles' time zone and the
    database session in UTC: a time not converted to Beijing's would show it."""
    from include.audit_report import write_report

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "America/Los_Angeles")
        patch.setenv("PGTZ", "UTC")  # libpq: the session's TimeZone, so timestamps come back in UTC
        time.tzset()
        try:
            report = write_report(DECEMBER)
        finally:
            patch.undo()
            time.tzset()
    print(f"report written in {report.seconds} s")
    return report


@pytest.fixture(scope="module")
def page(written, chromium, tmp_path_factory) -> tuple[Path, str]:
    """The rendered report and the DOM Chromium built from it, with no network (a dead proxy, file:// only)."""
    path = written.html
    rendered = time.monotonic()
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--proxy-server=127.0.0.1:9",
            f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    print(f"Chromium dump-dom in {time.monotonic() - rendered:.1f} s")
    return path, result.stdout


def elements(dom: str, tag: str, css_class: str) -> list[tuple[dict[str, str], str]]:
    """(attributes, visible text) of every ``<tag class="css_class ...">`` in the DOM (not nested in itself)."""
    found = []
    for attributes, inner in re.findall(rf'<{tag} class="{css_class}(?: [^"]*)?"([^>]*)>(.*?)</{tag}>', dom, re.S):
        text = html.unescape(" ".join(re.sub(r"<[^>]+>", " ", inner).split()))
        found.append(({k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', attributes)}, text))
    return found


def squeeze(text: str) -> str:
    """Visible text without the spaces tags leave around Chinese punctuation ('申报值 48613 ，' -> '申报值 48613，')."""
    return re.sub(r"\s*([：，。；、（）])\s*", r"\1", text)


def section(dom: str, element_id: str) -> str:
    match = re.search(rf'<(section|figure) id="{element_id}">(.*?)</\1>', dom, re.S)
    assert match, f"no #{element_id} in the page"
    return match[2]


def test_header_shows_each_decision_of_the_month_with_its_source_files(page, connect):
    _, dom = page
    decisions = elements(section(dom, "decisions"), "tr", "publication")
    # Only the league table is held back (dbt lineage): the other marts of the month are released.
    assert [a["data-status"] for a, _ in decisions][-2:] == ["published", "partial"]
    held_text = decisions[-1][1]
    assert "microcredit_league_county_sum" in held_text and "部分发布 Partly published" in held_text
    held = elements(section(dom, "decisions"), "div", "held")
    assert held and re.findall(r"mart_\w+", held[-1][1]) == ["mart_microcredit_league"], held
    name, sha = (
        connect("auditor")
        .execute("select file_name, file_sha256 from ops.loads where feed = 'microcredit' and is_current")
        .fetchone()
    )
    assert name in held_text and sha in held_text
    assert "部分发布 Partly published" in elements(dom, "span", "badge partial")[0][1]


def test_page_opens_with_the_outcome_then_findings_failures_warnings_and_passed_collapsed(page, connect):
    _, dom = page
    order = ["outcome", "findings", "failures", "warnings", "passed", "decisions", "completeness"]
    assert [dom.index(f'<section id="{name}">') for name in order] == sorted(
        dom.index(f'<section id="{name}">') for name in order
    )
    passed = section(dom, "passed")
    assert re.search(r"<details>\s*<summary>", passed), "the passed rules are collapsed"
    marts, flagged, held_back = (
        connect("auditor")
        .execute(
            "select marts, flagged, held_back from dq.publications where month_start = %s order by publication_id desc",
            [DECEMBER],
        )
        .fetchone()
    )
    shown = {
        a["data-outcome"]: set(a["data-marts"].split()) for a, _ in elements(section(dom, "outcome"), "li", "outcome")
    }
    assert shown == {"published": set(marts) - set(flagged), "flagged": set(flagged), "held_back": set(held_back)}
    assert "mart_microcredit_league" in shown["held_back"]
    [(_, held_text)] = [
        (a, t) for a, t in elements(section(dom, "outcome"), "li", "outcome") if a["data-outcome"] == "held_back"
    ]
    assert "商丘市脱贫人口小额信贷通报表 mart_microcredit_league" in held_text, "the mart's Chinese name (dbt docs)"
    assert "microcredit_league_county_sum" in held_text, "and the rule that held it back"


def test_every_rule_of_the_latest_gate_run_is_listed_with_its_outcome(page, connect):
    from include.gate.rule_schema import all_rules

    dom = page[1]
    blocks = {
        name: {a["data-rule"]: (a["data-status"], a["data-severity"], text) for a, text in found}
        for name, found in (
            ("failures", elements(section(dom, "failures"), "article", "rule")),
            ("warnings", elements(section(dom, "warnings"), "article", "rule")),
            ("passed", elements(section(dom, "passed"), "tr", "rule")),
        )
    }
    listed = {rule: status for found in blocks.values() for rule, (status, _, _) in found.items()}
    recorded = dict(
        connect("auditor")
        .execute("select rule_id, status from dq.rule_runs where run_id = %s and month_start = %s", [RUN_ID, DECEMBER])
        .fetchall()
    )
    assert set(listed) == set(recorded) >= {rule.id for rule in all_rules()}, "every rule (and dbt test) is listed"
    assert listed == recorded
    assert {severity for _, severity, _ in blocks["failures"].values()} == {"fail"}
    assert {severity for _, severity, _ in blocks["warnings"].values()} <= {"warn"}
    assert {status for status, _, _ in blocks["passed"].values()} == {"passed"}
    assert blocks["warnings"], "the month without most feeds has warnings too"
    status, _, text = blocks["failures"]["microcredit_league_county_sum"]
    assert status == "failed"
    assert "通报表各县（市、区）户数之和等于商丘市合计" in text and "county rows add up" in text
    assert "上下级汇总" in text and "金融办 / 合作银行 finance" in text, "kind and owner by their Chinese names"


def test_summary_leads_with_each_finding_in_chinese_at_printed_precision(page, held_back, connect):
    from include.audit_report import SUMMARY_LINES, published_figures

    findings = section(page[1], "findings")
    articles = elements(findings, "article", "finding")
    auditor = connect("auditor")
    failed = auditor.execute(
        """select rule_id, severity, unexpected_count from dq.rule_runs where run_id = %s and month_start = %s
           and status <> 'passed' order by severity = 'warn', rule_id""",
        [RUN_ID, DECEMBER],
    ).fetchall()
    assert [(a["data-rule"], a["data-severity"]) for a, _ in articles] == [(r, s) for r, s, _ in failed]
    blames = dict(
        auditor.execute(
            """select concat_ws(' ', r.rule_id, coalesce(f.county_code, ''), coalesce(f.measure, '')), f.blame
               from dq.rule_failures f join dq.rule_runs r using (rule_run_id) where r.run_id = %s""",
            [RUN_ID],
        ).fetchall()
    )
    lines = [(a, squeeze(t)) for a, t in elements(findings, "li", "line")]
    for (rule, _, count), (_, text) in zip(failed, articles, strict=True):
        shown = [int(a["data-rows"]) for a, _ in lines if a["data-rule"] == rule]
        assert 0 < len(shown) <= SUMMARY_LINES, rule
        left_out = re.search(r"另有 (\d+) 处未列出", text)
        assert sum(shown) + (int(left_out[1]) if left_out else 0) == count, f"{rule}: every row is counted"
    assert lines, "the page opens with what was found"
    for attributes, text in lines:
        declared = re.search(r"申报值 ([^，]+)，计算值 ([^（。]+)[（。]", text)
        assert declared, text
        if attributes["data-measure"] in published_figures() and attributes["data-rule"].startswith("indicators_"):
            assert published_figures()[attributes["data-measure"]]["name_zh"] in text
            places = {len(n) for v in declared.groups() for n in re.findall(r"\d+\.(\d+)", v)}
            assert len(places) <= 1, f"declared and computed at the same printed decimals: {text}"
        else:
            assert not re.search(r"\d\.\d{3,}", " ".join(declared.groups())), f"at most 2 decimals: {text}"
        blame = blames[f"{attributes['data-rule']} {attributes['data-county']} {attributes['data-measure']}"]
        assert ("未判定归因" in text) == (blame is None), text
    city = next(t for a, t in lines if a["data-rule"] == "microcredit_league_county_sum")
    declared, computed = held_back["city"] + 1, held_back["counties"]
    assert city.startswith(f"商丘市 · 当年新增户数 new_households：申报值 {declared}，计算值 {computed}。"), city
    name = auditor.execute("select file_name from ops.loads where feed = 'microcredit' and is_current").fetchone()[0]
    assert f"来源 Source: {name}" in city


def test_each_failure_shows_county_values_and_source_file(page, held_back, connect):
    rows = [
        *elements(section(page[1], "failures"), "tr", "failure"),
        *elements(section(page[1], "warnings"), "tr", "failure"),
    ]
    auditor = connect("auditor")
    recorded = auditor.execute(
        """select r.rule_id, count(*) from dq.rule_failures f join dq.rule_runs r using (rule_run_id)
           where r.run_id = %s and r.month_start = %s group by r.rule_id""",
        [RUN_ID, DECEMBER],
    ).fetchall()
    shown: dict[str, int] = {}
    for attributes, _ in rows:
        shown[attributes["data-rule"]] = shown.get(attributes["data-rule"], 0) + 1
    assert shown == dict(recorded), "every offending row recorded by the gate is on the page"
    name, sha = auditor.execute(
        "select file_name, file_sha256 from ops.loads where feed = 'microcredit' and is_current"
    ).fetchone()
    [(_, text)] = [
        (a, t)
        for a, t in rows
        if a["data-rule"] == "microcredit_league_county_sum" and a["data-measure"] == "new_households"
    ]
    declared, computed = held_back["city"] + 1, held_back["counties"]
    assert text.startswith(f"商丘市 {CITY} 当年新增户数 new_households {declared} {computed} 1 "), text
    assert name in text and sha in text


def test_completeness_grid_matches_the_view_cell_by_cell(page, connect):
    cells = elements(section(page[1], "completeness"), "td", "cell")
    labels = {
        "on_time": "按时 On time",
        "late": "逾期 Late",
        "missing": "缺报 Missing",
        "resubmitted": "重报 Resubmitted",
    }
    shown = {(a["data-feed"], a["data-county"]): (a["data-status"], text) for a, text in cells}
    expected = (
        connect("auditor")
        .execute("select feed, county_code, status from ops.feed_completeness where feed_month = %s", [DECEMBER])
        .fetchall()
    )
    assert len(shown) == len(expected) == 10 * len({feed for feed, _, _ in expected})
    assert shown == {(feed, county): (status, labels[status]) for feed, county, status in expected}
    assert {shown[key][0] for key in shown if key[0] == "microcredit"} <= {"on_time", "resubmitted"}


def test_league_chart_has_one_bar_per_county(page, connect):
    chart = section(page[1], "chart-league")
    names = [
        name
        for (name,) in connect("auditor")
        .execute(
            "select county_name from marts.mart_microcredit_league where month_start = %s and not is_city", [DECEMBER]
        )
        .fetchall()
    ]
    assert len(names) == 10
    bars = elements(chart, "rect", "bar")
    assert len(bars) == len(names)
    assert {text.split(":")[0] for _, text in bars} == set(names)
    assert len(elements(section(page[1], "chart-failed-trend"), "rect", "bar")) == 1, "December's failed rules"


def test_page_is_self_contained_escaped_and_links_the_data_docs(page):
    path, dom = page
    assert "<script" not in dom.lower()
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', dom), "the page fetches nothing"
    assert '&lt;i&gt;run&lt;/i&gt; &amp; "quoted"' in dom and "<i>run</i>" not in dom
    links = re.findall(r'href="(file://[^"]+)"', section(dom, "data-docs"))
    assert links, "the GX Data Docs are linked"
    for link in links:
        assert Path(html.unescape(link).removeprefix("file://")).is_file(), link
    [validation] = [link for link in links if "/validations/mart_microcredit_league/" in link]
    gx_page = Path(validation.removeprefix("file://")).read_text(encoding="utf-8")
    status = re.search(r"Status:</span>\s*<i[^>]*>\s*</i>\s*(\w+)", gx_page)
    assert status and status[1] == "Failed", "the link goes to the held-back run's validation, not an earlier one"
    assert path.parent.name == "2021-12" and path.name == "index.html"


# ---- The report task, the workbook, the PDF, make report ----------------------------------------------------


def test_the_dags_report_task_writes_the_page_the_workbook_and_the_pdf(held_back, chromium):
    assert held_back["dag_wrote"] == dict.fromkeys(REPORT_FILES, True)


def close_in_time(cell: Any, moment: dt.datetime | None) -> bool:
    """Whether a workbook's cell is ``moment`` on Beijing's wall clock (a spreadsheet keeps no zone, and
    milliseconds at most)."""
    if moment is None:
        return cell.value is None
    local = moment.astimezone(BEIJING).replace(tzinfo=None)
    return cell.is_date and abs(cell.value - local) < dt.timedelta(milliseconds=2)


@pytest.fixture(scope="module")
def workbook(written) -> dict[str, list[dict[str, Any]]]:
    """Each sheet of report.xlsx as rows of {header: cell}, read back with openpyxl."""
    import openpyxl

    book = openpyxl.load_workbook(written.xlsx)
    found = {}
    for sheet in book:
        rows = list(sheet.iter_rows())
        if sheet.title.startswith("摘要"):
            found[sheet.title] = [{"item": row[0].value, "value": row[1]} for row in rows if row[0].value]
            continue
        headers = [cell.value for cell in rows[0]]
        found[sheet.title] = [dict(zip(headers, row, strict=True)) for row in rows[1:]]
    return found


def test_the_workbook_has_a_sheet_for_each_part_with_chinese_then_english_headers(workbook):
    assert [title.split()[0] for title in workbook] == [
        "摘要",
        "失败",
        "警告",
        "完整性",
        "发布",
        "规则",
        "报送",
        "未加载",
    ]
    for title, rows in workbook.items():
        if title.startswith("摘要") or not rows:  # an empty sheet (nothing refused): the unit test checks it
            continue
        for header in rows[0]:
            assert re.match(r"[\u4e00-\u9fff]", header) and re.search(r" [A-Z][a-z]", header), (title, header)


def test_the_failure_sheets_are_the_offending_rows_of_the_latest_gate_run(workbook, connect):
    from include.audit_report import unit_factors

    auditor = connect("auditor")
    recorded = auditor.execute(
        """select r.rule_id, r.severity, f.county_code, f.measure, f.declared, f.computed, f.difference, f.blame,
                  f.row_detail
           from dq.rule_failures f join dq.rule_runs r using (rule_run_id)
           where r.run_id = %s and r.month_start = %s""",
        [RUN_ID, DECEMBER],
    ).fetchall()
    assert recorded, "the gate recorded offending rows"
    for severity, title in (("fail", "失败 Failures"), ("warn", "警告 Warnings")):
        sheet = [
            (r["规则 Rule"].value, r["县（市、区）代码 County code"].value, r["指标代码 Measure code"].value)
            for r in workbook[title]
        ]
        expected = [(rule, county, measure) for rule, sev, county, measure, *_ in recorded if sev == severity]
        assert sorted(sheet, key=str) == sorted(expected, key=str), title
    rows = {
        (r["规则 Rule"].value, r["县（市、区）代码 County code"].value, r["指标代码 Measure code"].value): r
        for title in ("失败 Failures", "警告 Warnings")
        for r in workbook[title]
    }
    for rule, _, county, measure, declared, computed, difference, blame, _ in recorded:
        row = rows[(rule, county, measure)]
        factor = unit_factors().get(row["单位 Unit"].value or "", Decimal(1))
        for header, exact in (
            ("申报值 Declared", declared),
            ("计算值 Computed", computed),
            ("差额 Difference", difference),
        ):
            cell = row[header]
            if exact is None:
                assert cell.value is None
                continue
            decimals = len(cell.number_format.partition(".")[2])
            assert cell.data_type == "n" and re.fullmatch(r"0(\.0+)?", cell.number_format), cell.number_format
            assert decimals <= 2 or row["单位 Unit"].value, f"{rule}: at most 2 decimals outside the indicators"
            shown = Decimal(str(cell.value))
            assert shown == round(shown, decimals), f"{rule} {header}: {cell.value} beyond {cell.number_format}"
            assert abs(shown * factor - exact) <= factor * Decimal("0.5").scaleb(-decimals) + Decimal("1e-9"), header
        assert row["归因 Blame"].value.startswith("未判定归因" if blame is None else ""), rule
        assert (blame is None) == ("No side blamed" in row["归因 Blame"].value)
    # An indicator's row shows the decimals the report printed (the staging model keeps the printed number).
    # (Only the microcredit feed is delivered here, so there may be none: the unit tests read such rows.)
    printed = dict(
        connect("transformer")
        .execute(
            """select county_code || ' ' || indicator_code, declared_value::text
               from staging.stg_indicator_report__indicators where month_start = %s""",
            [DECEMBER],
        )
        .fetchall()
    )
    indicator_rows = [r for key, r in rows.items() if key[0].startswith("indicators_") and r["单位 Unit"].value]
    for row in indicator_rows:
        text = printed[f"{row['县（市、区）代码 County code'].value} {row['指标代码 Measure code'].value}"]
        assert row["申报值 Declared"].number_format.partition(".")[2] == "0" * len(text.partition(".")[2]), text
        assert Decimal(str(row["申报值 Declared"].value)) == Decimal(text)


def test_the_failure_rows_name_their_source_file_kind_owner_and_measure_in_chinese(workbook, held_back, connect):
    name, sha, version = (
        connect("auditor")
        .execute("select file_name, file_sha256, version from ops.loads where feed = 'microcredit' and is_current")
        .fetchone()
    )
    [row] = [
        r
        for r in workbook["失败 Failures"]
        if r["规则 Rule"].value == "microcredit_league_county_sum"
        and r["指标代码 Measure code"].value == "new_households"
    ]
    assert (row["申报值 Declared"].value, row["计算值 Computed"].value) == (
        held_back["city"] + 1,
        held_back["counties"],
    )
    assert row["差额 Difference"].value == 1 and row["县（市、区） County"].value == "商丘市"
    assert name in row["来源文件 Source file"].value.splitlines()
    assert sha in row["文件 SHA-256 File SHA-256"].value.splitlines()
    assert str(version) in str(row["版本 Version"].value).splitlines()
    assert row["类型 Kind"].value == "上下级汇总 counties add up"
    assert row["责任部门 Owner"].value == "金融办 / 合作银行 finance"
    assert row["指标 Measure"].value == "当年新增户数"
    for title in ("失败 Failures", "警告 Warnings"):
        for r in workbook[title]:
            assert re.match(r"[\u4e00-\u9fff]+ [A-Za-z]", r["级别 Severity"].value)
            assert re.match(r"[\u4e00-\u9fff（）() ]+ [A-Za-z=]", r["类型 Kind"].value), r["类型 Kind"].value
            assert re.match(r"[\u4e00-\u9fff/ ]+ [a-z_]+$", r["责任部门 Owner"].value), r["责任部门 Owner"].value


def test_the_rules_sheet_is_every_rule_of_the_latest_gate_run_with_its_outcome(workbook, connect):
    recorded = (
        connect("auditor")
        .execute(
            "select rule_id, status, severity, owner, unexpected_count from dq.rule_runs"
            " where run_id = %s and month_start = %s",
            [RUN_ID, DECEMBER],
        )
        .fetchall()
    )
    sheet = {r["规则 Rule"].value: r for r in workbook["规则 Rules"]}
    assert len(sheet) == len(workbook["规则 Rules"]) == len(recorded)
    for rule, status, severity, owner, count in recorded:
        row = sheet[rule]
        assert row["结果 Status"].value.split()[-1].lower() == status, (rule, row["结果 Status"].value)
        assert row["级别 Severity"].value.endswith({"fail": "Blocking", "warn": "Warning"}[severity])
        assert row["责任部门 Owner"].value.endswith(f" {owner}") and re.match(
            r"[\u4e00-\u9fff]", row["责任部门 Owner"].value
        )
        assert row["异常行数 Offending rows"].value == count


def test_the_publications_sheet_is_the_months_decisions_in_beijing_time(workbook, connect):
    decisions = (
        connect("auditor")
        .execute(
            """select publication_id, run_id, status, marts, held_back, decided_at, rules_passed, rules_failed
               from dq.publications where month_start = %s order by publication_id""",
            [DECEMBER],
        )
        .fetchall()
    )
    sheet = workbook["发布 Publications"]
    assert [r["编号 Publication"].value for r in sheet] == [d[0] for d in decisions]
    english = {"published": "Published", "partial": "Partly published", "held_back": "Held back"}
    for row, (_, run_id, status, marts, held, decided_at, passed, failed) in zip(sheet, decisions, strict=True):
        assert row["批次 Run"].value == run_id
        assert row["结论 Decision"].value.endswith(english[status])
        assert re.findall(r"mart_\w+", row["已发布 Published marts"].value or "") == list(marts)
        assert re.findall(r"mart_\w+", row["暂缓发布 Held back"].value or "") == list(held)
        assert (row["规则通过 Rules passed"].value, row["规则未通过 Rules failed"].value) == (passed, failed)
        assert close_in_time(row["决定时间（北京时间） Decided at (Beijing time)"], decided_at)
    summary = {line["item"]: line["value"] for line in workbook["摘要 Summary"]}
    assert close_in_time(summary["决定时间（北京时间） Decided at (Beijing time)"], decisions[-1][5])
    assert summary["本月结论 Decision"].value == "部分发布 Partly published"
    assert "mart_microcredit_league" in summary["暂缓发布 Held back"].value


def test_the_completeness_sheet_is_the_view_in_beijing_time(workbook, connect):
    cells = (
        connect("auditor")
        .execute(
            """select feed, county_code, status, detail_rows, first_received_at, deadline_at
               from ops.feed_completeness where feed_month = %s""",
            [DECEMBER],
        )
        .fetchall()
    )
    sheet = {
        (r["数据项代码 Feed"].value, r["县（市、区）代码 County code"].value): r
        for r in workbook["完整性 Completeness"]
    }
    assert len(sheet) == len(workbook["完整性 Completeness"]) == len(cells)
    english = {"on_time": "On time", "late": "Late", "missing": "Missing", "resubmitted": "Resubmitted"}
    for feed, county, status, rows, received, deadline in cells:
        row = sheet[(feed, county)]
        assert row["报送状态 Status"].value.endswith(english[status]) and row["明细行数 Detail rows"].value == rows
        assert close_in_time(row["首次收到（北京时间） First received (Beijing time)"], received)
        assert close_in_time(row["截止时间（北京时间） Deadline (Beijing time)"], deadline)
        # The deadline is a day's start in Beijing (in UTC it would read 16:00 the day before).
        assert row["截止时间（北京时间） Deadline (Beijing time)"].value.time() == dt.time(0)


def test_a_formula_like_text_stays_a_literal_string_cell(workbook, written):
    import zipfile  # the sheets as a spreadsheet program reads them, not through openpyxl

    cells = [line["value"] for line in workbook["摘要 Summary"]]
    cells += [cell for row in workbook["发布 Publications"] for cell in row.values()]
    runs = [cell for cell in cells if cell.value == RUN_ID]
    assert len(runs) >= 2, "the run id is in the summary and the publications"
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in runs)
    with zipfile.ZipFile(written.xlsx) as archive:
        xml = "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml, "no cell is a formula"
    assert escape(RUN_ID) in xml, "kept as the text it is"


def test_the_html_shows_times_in_beijing_time(page, connect):
    decided_at, status = (
        connect("auditor")
        .execute(
            "select decided_at, status from dq.publications where month_start = %s order by publication_id desc",
            [DECEMBER],
        )
        .fetchone()
    )
    header = html.unescape(re.sub(r"<[^>]+>", "", page[1].split("<nav>")[0]))
    assert f"{decided_at.astimezone(BEIJING):%Y-%m-%d %H:%M:%S} 北京时间" in header
    assert status == "partial" and "UTC" not in header


def pdf_tool(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout


def test_the_pdf_is_a4_landscape_with_chinese_text_page_numbers_and_an_embedded_cjk_font(written, poppler, connect):
    assert written.pdf and written.pdf.name == "report.pdf" and written.pdf.parent == written.html.parent
    info = pdf_tool("pdfinfo", str(written.pdf))
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert abs(width - 842) < 2 and abs(height - 595) < 2, info
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])
    first = pdf_tool("pdftotext", "-f", "1", "-l", "1", "-layout", str(written.pdf), "-")
    assert "数据质量审计报告" in first and "商丘市巩固拓展脱贫攻坚成果监测" in first, first[:500]
    assert re.search(rf"第 1 / {pages} 页", first), "the page number and the page count"
    last = pdf_tool("pdftotext", "-f", str(pages), "-l", str(pages), str(written.pdf), "-")
    assert f"第 {pages} / {pages} 页" in last and "数据质量审计报告" in last, "every page has its header and number"
    decided_at = (
        connect("auditor")
        .execute("select max(decided_at) from dq.publications where month_start = %s", [DECEMBER])
        .fetchone()[0]
    )
    assert f"{decided_at.astimezone(BEIJING):%Y-%m-%d %H:%M:%S} 北京时间" in " ".join(first.split())
    everything = pdf_tool("pdftotext", str(written.pdf), "-")
    assert "microcredit_league_county_sum" in everything and "通过的规则 Passed rules" in everything
    passed = connect("auditor").execute(
        "select rule_id from dq.rule_runs where run_id = %s and status = 'passed' order by rule_id limit 1", [RUN_ID]
    )
    assert passed.fetchone()[0] in everything.replace("\n", ""), "the passed rules are printed, not collapsed"
    installed = {
        family.replace(" ", "")
        for line in pdf_tool("fc-list", ":lang=zh", "family").splitlines()
        for family in line.split(",")
    }
    embedded = [
        line.split()[0].partition("+")[2] or line.split()[0]
        for line in pdf_tool("pdffonts", str(written.pdf)).splitlines()[2:]
        if " yes " in line
    ]
    assert any(name.startswith(tuple(installed)) for name in embedded), (
        f"no CJK font embedded by name: {embedded}; Chromium embeds a TrueType CJK font (fonts-wqy-microhei), "
        "an OpenType/CFF one (Noto CJK) only as unnamed Type 3 glyphs"
    )


def test_the_pdfs_first_page_is_not_blank(written, poppler, tmp_path):
    pdf_tool("pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-gray", str(written.pdf), str(tmp_path / "page"))
    [image] = tmp_path.glob("page*.pgm")
    data = image.read_bytes()
    magic, width, height, top, pixels = data.split(maxsplit=4)  # binary PGM: P5 width height maxval, then pixels
    assert magic == b"P5" and int(top) == 255
    pixels = pixels[: int(width) * int(height)]
    assert len(pixels) == int(width) * int(height)
    assert int(width) > int(height), "landscape"
    dark = sum(1 for value in pixels if value < 200)
    assert dark > 0.01 * len(pixels), f"{dark} of {len(pixels)} pixels are not white"


def test_make_report_rewrites_the_three_files_and_says_where_and_how_long(written, capsys):
    from include.cli import main

    before = {name: (written.html.parent / name).stat().st_mtime_ns for name in REPORT_FILES}
    assert main(["report", "--month", "2021-12"]) == 0
    out = capsys.readouterr().out.splitlines()
    paths = [Path(line) for line in out if line.startswith("/")]
    assert [path.name for path in paths] == list(REPORT_FILES)
    assert all(path.stat().st_mtime_ns > before[path.name] for path in paths), "all three rewritten"
    assert re.search(r"\(\d+\.\d s: facts [\d.]+, html [\d.]+, xlsx [\d.]+, pdf [\d.]+\)", out[-1]), out[-1]


def test_each_gate_run_is_told_apart_under_one_airflow_run_id(held_back, warehouse):
    """The same month validated again under the same run id (a rerun, or a run cleared and run again) is a gate
    run of its own: its rules, its try number and the decision that rests on it never mix with the first's.
    Runs last in this module: it makes this rerun the month's latest gate run."""
    from include.pipeline import validate_month

    rerun = validate_month(DECEMBER, RUN_ID, try_number=2)
    with psycopg.connect(warehouse.url("auditor")) as conn:
        runs = conn.execute(
            """select g.gate_run_id, g.run_id, g.try_number, count(r.rule_run_id)
               from dq.gate_runs g left join dq.rule_runs r using (gate_run_id)
               where g.month_start = %s group by g.gate_run_id order by g.gate_run_id""",
            [DECEMBER],
        ).fetchall()
        decisions = dict(
            conn.execute(
                "select gate_run_id, run_id from dq.publications where month_start = %s and gate_run_id is not null",
                [DECEMBER],
            ).fetchall()
        )
    ours = [run for run in runs if run[1] == RUN_ID]
    assert [try_number for _, _, try_number, _ in ours] == [None, 2], runs
    assert ours[-1][0] == rerun["gate_run_id"]
    assert ours[0][3] == ours[1][3] > 100, "each gate run holds one complete set of rule outcomes"
    dag_run = next(run for run in reversed(runs) if run[1] != RUN_ID)
    assert dag_run[2] == 1, "the DAG's validate task records its try number"
    assert decisions[ours[0][0]] == RUN_ID and decisions[dag_run[0]] == dag_run[1], "each decision names its gate run"
    assert rerun["gate_run_id"] not in decisions, "the rerun has not published: nothing rests on it yet"
