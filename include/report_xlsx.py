"""The auditor's report as a workbook, ``<REPORTS_DIR>/<YYYY-MM>/report.xlsx``, from the facts the page shows.

``audit_report.gather`` collects them once; this writes them as tables an auditor can filter and sort:

- 摘要 Summary: what the gate decided, when (Beijing time), and one line per finding, as the page opens;
- 失败 Failures, 警告 Warnings: every offending row of each failed blocking (warning) rule, with its values at
  their printed precision, which side is blamed and why, and its source file, sheet, row and SHA-256;
- 完整性 Completeness: each feed × county's delivery status; 发布 Publications: each decision of the month;
- 规则 Rules: every rule of the month's latest gate run, with its outcome;
- 报送 Deliveries: every delivery of the month that was read, its version, status and restatement;
  未加载 Not loaded: what the landing folder held at the month's run that was not loaded, and why.

Headers and labels read Chinese first, then English, with the names the page uses. Numbers stay numbers, shown
at their printed decimals; times are Beijing time; every cell goes through ``report_cells.put``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from include import audit_report as report
from include.gate import blame
from include.report_cells import put

BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="F6F8FA")
WRAP = Alignment(wrap_text=True, vertical="top")
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
WIDEST = 60  # characters a column is made wide at most; longer texts wrap

FINDING_COLUMNS = [
    "规则 Rule",
    "级别 Severity",
    "类型 Kind",
    "责任部门 Owner",
    "县（市、区）代码 County code",
    "县（市、区） County",
    "指标代码 Measure code",
    "指标 Measure",
    "分组 Group",
    "申报值 Declared",
    "计算值 Computed",
    "差额 Difference",
    "单位 Unit",
    "归因 Blame",
    "说明 Explanation",
    "英文说明 Explanation (English)",
    "比较 Compares",
    "来源文件 Source file",
    "版本 Version",
    "工作表 Sheet",
    "行 Row",
    "文件 SHA-256 File SHA-256",
]


def write(facts: dict[str, Any], path: Path) -> Path:
    """Write the workbook of ``facts`` (as ``audit_report.gather`` returns them) to ``path``."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    summary(book.create_sheet("摘要 Summary"), facts)
    for title, failed in (("失败 Failures", facts["failures"]), ("警告 Warnings", facts["warnings"])):
        table(book.create_sheet(title), FINDING_COLUMNS, [finding_row(r, row) for r in failed for row in r["rows"]])
    table(book.create_sheet("完整性 Completeness"), *completeness(facts))
    table(book.create_sheet("发布 Publications"), *publications(facts["decisions"]))
    table(book.create_sheet("规则 Rules"), *rules(facts["rules"]))
    table(book.create_sheet("报送 Deliveries"), *deliveries(facts["deliveries"]))
    table(book.create_sheet("未加载 Not loaded"), *landing_findings(facts["landing_findings"]))
    book.save(path)
    return path


def named(labels: Mapping[str, Sequence[str]], code: str | None) -> str | None:
    """A code by its Chinese, then English name ('阻断 Blocking'); an unknown code as itself."""
    if not code:
        return None
    names = labels.get(code)
    return f"{names[0]} {names[1]}" if names else code


def owner(code: str | None) -> str | None:
    """A department by its Chinese name and its code ('民政局 civil_affairs'), as the page names it."""
    return f"{report.departments().get(code, '')} {code}".strip() if code else None


def mart(name: str) -> str:
    return f"{report.mart_names().get(name, '')} {name}".strip()


def place(code: str | None) -> str:
    return report.counties().get(code or "") or code or "全市 whole city"


def beijing(moment: dt.datetime | None) -> dt.datetime | None:
    """A moment as a spreadsheet date in Beijing time (spreadsheets keep no time zone; the header says which)."""
    return report.in_beijing(moment).replace(tzinfo=None) if moment else None


def lines(values: Iterable[object]) -> object:
    """One value as itself, several as lines of one cell ('—' for a missing one), none as an empty cell."""
    found = list(values)
    if all(value is None for value in found):
        return None
    return found[0] if len(found) == 1 else "\n".join("—" if value is None else str(value) for value in found)


def blamed(row: dict[str, Any]) -> str:
    return named(blame.BLAMES, row["blame"]) or "未判定归因 No side blamed"


def finding_row(rule: dict[str, Any], row: dict[str, Any]) -> list[object]:
    (declared, computed, difference), unit = row["amounts"]
    sources = row["lineage"]
    return [
        rule["rule_id"],
        named(report.SEVERITIES, rule["severity"]),
        named(report.KINDS, rule["kind"]),
        owner(rule["owner"]),
        row["county_code"],
        place(row["county_code"]),
        row["measure"],
        row["measure_name"],
        row["row_detail"].get("group_key"),
        declared,
        computed,
        difference,
        unit or None,
        blamed(row),
        row["explanation_zh"],
        row["explanation_en"],
        rule["compares"],
        lines(source["file_name"] for source in sources),
        lines(source["version"] for source in sources),
        lines(source["sheet"] or "整个文件 whole file" for source in sources),
        lines(source["row"] for source in sources),
        lines(source["file_sha256"] for source in sources),
    ]


def summary(sheet: Worksheet, facts: dict[str, Any]) -> None:
    """What the gate decided, then one line per finding (as the page's summary: rows that read the same share one)."""
    last = facts["decisions"][-1] if facts["decisions"] else None
    outcome, gate_run = facts["outcome"] or {}, facts["gate_run"]
    facts_rows: list[tuple[str, object]] = [
        ("月份 Month", f"{facts['month']:%Y-%m}"),
        ("本月结论 Decision", named(report.DECISIONS, last["status"]) if last else "尚无发布决定 No gate decision yet"),
        ("决定时间（北京时间） Decided at (Beijing time)", beijing(last["decided_at"]) if last else None),
        ("规则通过 Rules passed", last["rules_passed"] if last else None),
        ("规则未通过 Rules failed", last["rules_failed"] if last else None),
        ("规则警告 Rules warned", last["rules_warned"] if last else None),
        ("已发布 Published", lines(mart(m) for m in outcome.get("published", []))),
        (
            "已发布但附警示 Published with a warning flag",
            lines(f"{mart(m)}：{'、'.join(ids)}" for m, ids in outcome.get("flagged", [])),
        ),
        ("暂缓发布 Held back", lines(f"{mart(m)}：{'、'.join(ids) or '—'}" for m, ids in outcome.get("held_back", []))),
        ("原因 Reason", outcome.get("reason")),
        ("校验批次 Gate run", gate_run["gate_run_id"] if gate_run else None),
        ("Airflow 运行 Airflow run", gate_run["run_id"] if gate_run else None),
        ("尝试次数 Try number", gate_run["try_number"] if gate_run else None),
        ("校验时间（北京时间） Checked at (Beijing time)", beijing(gate_run["checked_at"]) if gate_run else None),
        ("生成时间（北京时间） Generated at (Beijing time)", beijing(facts["generated_at"])),
    ]
    table(sheet, ["项目 Item", "内容 Value"], facts_rows, filtered=False)
    headers = ["级别 Severity", "规则 Rule", "说明 Description", "地区 Places", "指标 Measure", "申报值 Declared"]
    headers += ["计算值 Computed", "单位 Unit", "行数 Rows", "归因 Blame", "来源文件 Source files"]
    found = [
        [
            named(report.SEVERITIES, rule["severity"]),
            rule["rule_id"],
            rule["description_zh"],
            "、".join(place(code) for code in line["places"]),
            " ".join(filter(None, (line["measure_name"], line["measure"]))) or None,
            line["amounts"][0][0],
            line["amounts"][0][1],
            line["amounts"][1] or None,
            line["count"],
            blamed(line),
            lines(dict.fromkeys(source["file_name"] for source in line["sources"])),
        ]
        for rule in facts["failures"] + facts["warnings"]
        for line in rule["summary"]
    ]
    table(sheet, headers, found, first_row=len(facts_rows) + 3, title="发现的问题 Findings", filtered=False)


def completeness(facts: dict[str, Any]) -> tuple[list[str], list[list[object]]]:
    headers = ["责任部门 Department", "数据项代码 Feed", "数据项 Feed name", "县（市、区）代码 County code"]
    headers += ["县（市、区） County", "报送状态 Status", "明细行数 Detail rows", "已加载版本 Versions loaded"]
    headers += ["首次收到（北京时间） First received (Beijing time)", "截止时间（北京时间） Deadline (Beijing time)"]
    order = {code: i for i, code in enumerate(facts["counties"])}
    rows = [
        [
            owner(feed["department"]),
            feed["feed"],
            feed["name_zh"],
            code,
            place(code),
            named(report.DELIVERIES, cell["status"]),
            cell["detail_rows"],
            cell["versions_loaded"],
            beijing(cell["first_received_at"]),
            beijing(cell["deadline_at"]),
        ]
        for feed in facts["completeness"]
        for code, cell in sorted(feed["cells"].items(), key=lambda item: order.get(item[0], len(order)))
    ]
    return headers, rows


def publications(decisions: list[dict[str, Any]]) -> tuple[list[str], list[list[object]]]:
    headers = ["编号 Publication", "决定时间（北京时间） Decided at (Beijing time)", "结论 Decision", "批次 Run"]
    headers += ["已发布 Published marts", "附警示 Flagged", "暂缓发布 Held back", "规则通过 Rules passed"]
    headers += ["规则未通过 Rules failed", "规则警告 Rules warned", "原因 Reason", "来源文件 Source files"]
    headers += ["文件 SHA-256 File SHA-256"]
    rows = [
        [
            d["publication_id"],
            beijing(d["decided_at"]),
            named(report.DECISIONS, d["status"]),
            d["run_id"],
            lines(mart(m) for m in d["marts"]),
            lines(f"{mart(m)}：{'、'.join(ids)}" for m, ids in (d["flagged"] or {}).items()),
            lines(mart(m) for m in d["held_back"]),
            d["rules_passed"],
            d["rules_failed"],
            d["rules_warned"],
            d["reason"],
            lines(f"{f['file_name']} ({f['feed']}, v{f['version']})" for f in d["source_files"]),
            lines(f["sha256"] for f in d["source_files"]),
        ]
        for d in decisions
    ]
    return headers, rows


def rules(runs: list[dict[str, Any]]) -> tuple[list[str], list[list[object]]]:
    headers = ["规则 Rule", "结果 Status", "级别 Severity", "类型 Kind", "责任部门 Owner", "校验对象 Relation"]
    headers += ["异常行数 Offending rows", "说明 Description", "英文说明 Description (English)", "出错 Error"]
    rows = [
        [
            r["rule_id"],
            named(report.RULE_STATUSES, r["status"]),
            named(report.SEVERITIES, r["severity"]),
            named(report.KINDS, r["kind"]),
            owner(r["owner"]),
            r["relation"],
            r["unexpected_count"],
            r["description_zh"],
            r["description_en"],
            r["error"],
        ]
        for r in runs
    ]
    return headers, rows


def deliveries(loads: list[dict[str, Any]]) -> tuple[list[str], list[list[object]]]:
    headers = ["数据项代码 Feed", "文件 File", "文件 SHA-256 File SHA-256", "版本 Version", "状态 Status"]
    headers += ["当前版本 Current", "明细行数 Detail rows", "汇总行数 Control rows", "拒收行数 Rejected rows"]
    headers += ["重报 Restated", "所更正版本 Previous version", "原明细行数 Previous detail rows"]
    headers += ["收到（北京时间） Received (Beijing time)", "加载（北京时间） Loaded (Beijing time)"]
    rows = [
        [
            d["feed"],
            d["file_name"],
            d["file_sha256"],
            d["version"],
            named(report.LOAD_STATUSES, d["status"]),
            "是 yes" if d["is_current"] else "否 no",
            d["detail_rows"],
            d["control_rows"],
            d["rejected_rows"],
            "是 yes" if d["restated"] else "否 no",
            d["previous_version"],
            d["previous_detail_rows"],
            beijing(d["received_at"]),
            beijing(d["loaded_at"]),
        ]
        for d in loads
    ]
    return headers, rows


def landing_findings(found: list[dict[str, Any]]) -> tuple[list[str], list[list[object]]]:
    headers = ["级别 Severity", "文件 File", "数据项代码 Feed", "文件月份 File month", "规则 Rule"]
    headers += [
        "应为 Expected",
        "实际 Found",
        "文件 SHA-256 File SHA-256",
        "字节数 Bytes",
        "记录（北京时间） Recorded (Beijing time)",
    ]
    rows = [
        [
            named(report.FINDING_SEVERITIES, f["severity"]),
            f["file_name"],
            f["feed"],
            f"{f['feed_month']:%Y-%m}" if f["feed_month"] else None,
            f["rule"],
            f["expected"],
            f["found"],
            f["file_sha256"],
            f["file_bytes"],
            beijing(f["created_at"]),
        ]
        for f in found
    ]
    return headers, rows


def table(
    sheet: Worksheet,
    headers: list[str],
    rows: Iterable[Sequence[object]],
    *,
    first_row: int = 1,
    title: str = "",
    filtered: bool = True,
) -> None:
    """``rows`` under a bold header row (``filtered``: frozen, with a filter), columns made wide enough; a number
    shows the decimals it carries (27.010: three), a time as yyyy-mm-dd hh:mm:ss."""
    if title:
        put(sheet.cell(first_row - 1, 1), title).font = BOLD
    for column, header in enumerate(headers, 1):
        cell = put(sheet.cell(first_row, column), header)
        cell.font, cell.fill, cell.alignment = BOLD, HEADER_FILL, WRAP
    widths = [min(width(header), 24) for header in headers]  # a long header wraps
    last = first_row
    for last, values in enumerate(rows, first_row + 1):
        for column, value in enumerate(values, 1):
            cell = put(sheet.cell(last, column), value)
            if isinstance(value, Decimal):
                decimals = report.decimals_of(value)
                cell.number_format = "0." + "0" * decimals if decimals else "0"
            elif isinstance(value, dt.datetime):
                cell.number_format = TIME_FORMAT
            elif isinstance(value, str) and "\n" in value:
                cell.alignment = WRAP
            widths[column - 1] = max(widths[column - 1], width(value))
    for column, chars in enumerate(widths, 1):
        dimension = sheet.column_dimensions[get_column_letter(column)]
        dimension.width = max(dimension.width or 0, min(chars, WIDEST) + 2)
    if filtered:
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{last}"


def width(value: object) -> int:
    """Characters a value takes in a column (a Chinese character two; a time 19; the longest line of a text)."""
    if isinstance(value, dt.datetime):
        return 19
    text = "" if value is None else str(value)
    return max((sum(2 if ord(c) > 0x2E80 else 1 for c in line) for line in text.splitlines() or [""]), default=0)
