"""The auditor's report as headless Chromium renders it.

A real December run (Airflow, dbt, GX) publishes; then the city row of the candidate
league table is made one household larger than its counties, and the real gate
holds the month back. The report of that month is loaded in Chromium, offline, and
the test reads what Chromium shows: what was published, the summary of the findings
(in Chinese, at printed precision), the failed rules, the warnings, the passed rules
(collapsed), decisions, the failing rows with their source file, the completeness
grid, the charts.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

DECEMBER = dt.date(2021, 12, 1)
CITY = "411400"
CANDIDATE = "candidate.mart_microcredit_league"
RUN_ID = 'audit-report <i>run</i> & "quoted"'  # must reach the page as text, never as markup
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium; installed when missing and we are root."""
    found = shutil.which("chromium")
    if not found and os.geteuid() == 0:
        install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        if subprocess.run(install, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True, check=False)
            subprocess.run(install, capture_output=True, check=False)
        found = shutil.which("chromium")
    if not found:
        pytest.skip("chromium is not installed and installing it needs root: apt-get install chromium")
    return found


@pytest.fixture(scope="module")
def held_back(run_dag, warehouse) -> dict[str, Any]:
    """December published, then gated again with a league table whose city row exceeds its counties by one."""
    from include.pipeline import publish_month, validate_month

    assert run_dag(DECEMBER) == "success"
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
    return {"city": city, "counties": counties}


@pytest.fixture(scope="module")
def page(held_back, chromium, tmp_path_factory) -> tuple[Path, str]:
    """The rendered report and the DOM Chromium built from it, with no network (a dead proxy, file:// only)."""
    from include.audit_report import write_report

    started = time.monotonic()
    path = write_report(DECEMBER)
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
    print(f"report rendered in {rendered - started:.1f} s, Chromium dump-dom in {time.monotonic() - rendered:.1f} s")
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
    from include.gate.rules import all_rules

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
