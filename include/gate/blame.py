"""Which side of a finding is wrong, in words, and the official indicators the city may print.

A declared figure (the indicator report) that disagrees with the warehouse's computation blames
one side: when the figure's mart passes its own checks (汇总 = 明细, counties add up, rates and
ranks as printed), the declared figure is the suspect and the mart is published with a warning
flag; when the mart fails its own checks too, nothing can be decided and the mart is held back.
Declared figures that cannot all be true together (``consistency`` rules) name their figures;
the computation says which of them is the suspect.

``mart_official_indicators`` gives the declared figures a published home: every figure the month's
indicator report declares, with the value computed from the detail, a status, and the finding
that withholds it (official value null) when it is contradicted.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from psycopg import Connection, sql

from include import config
from include.gate import gx_context
from include.gate.rule_schema import WAREHOUSE, Rule
from include.gate.rule_sql import declared_values_sql

OFFICIAL = "mart_official_indicators"
DECLARED_KINDS = ("declared", "consistency")  # rules over the declared figures: they withhold figures, not marts
DECLARED_RELATION = "stg_indicator_report__indicators"
BLAMES = {  # dq.rule_failures.blame: (中文, English)
    "declared": ("申报数存疑", "the declared figure is suspect: the computed side passes its own checks"),
    "computed": ("计算方未通过自身校验", "the computed side fails its own checks, so its mart is held back"),
    "figures": ("申报数之间互相矛盾", "declared figures that cannot all be true together"),
}

_TABLE_LOCK = 4114_0002
STATUSES = {  # status: (中文, whether the declared figure is published as official)
    "consistent": ("一致", True),
    "bound_holds": ("下限成立", True),
    "truncated": ("截断（应四舍五入）", True),
    "unverified": ("无明细可核", True),
    "withheld": ("存疑，不予发布", False),
    "undecided": ("计算方未通过校验，暂缓", False),
}


def at_printing(value: Decimal | float | int | None, row: Mapping[str, Any]) -> str:
    """A base-unit value in the unit and precision the declared figure was printed with (231540 -> 23.15万人).

    The unit's factor is the power of ten between the declared base value and the value as printed; the
    precision is the printed rounding (``base_tolerance``, half a unit of the last printed digit)."""
    if value is None:
        return "—"
    printed, base = Decimal(str(row.get("declared_value") or 0)), Decimal(str(row.get("declared") or 0))
    factor = Decimal(10) ** round(math.log10(base / printed)) if printed and base else Decimal(1)
    step = (2 * Decimal(str(row.get("base_tolerance") or "0.5")) / factor).normalize()
    return f"{(Decimal(str(value)) / factor).quantize(step, rounding=ROUND_HALF_UP)}{row.get('declared_unit') or ''}"


def declared_explanation(row: Mapping[str, Any], mart: str, blame: str, failing: Sequence[str]) -> tuple[str, str]:
    """Why a declared figure and its mart disagree, and which side is blamed (zh, en)."""
    name, declared = row.get("indicator_name") or row["measure"], at_printing(row.get("declared"), row)
    computed = at_printing(row.get("computed"), row)
    if blame == "declared":
        return (
            f"{name}：申报 {declared}，由明细计算为 {computed}。{mart} 通过了自身的全部校验（汇总=明细、各县之和=全市、"
            f"比率与排名），判定申报数存疑：该数不作为官方指标发布，{mart} 带提示发布。",
            f"{row['measure']}: declared {declared}, computed from the detail {computed}. {mart} passes all its own "
            f"checks (汇总 = 明细, counties add up, rates and ranks), so the declared figure is the suspect: it is "
            f"withheld from the official indicators and {mart} is published with a warning flag.",
        )
    return (
        f"{name}：申报 {declared}，计算为 {computed}；{mart} 自身也未通过校验（{'、'.join(failing)}），"
        f"无法判定哪一方有误：{mart} 暂缓发布。",
        f"{row['measure']}: declared {declared}, computed {computed}; {mart} fails its own checks too "
        f"({', '.join(failing)}), so neither side can be trusted: {mart} is held back.",
    )


def truncation_explanation(row: Mapping[str, Any]) -> tuple[str, str]:
    declared, computed = row.get("declared"), Decimal(str(row.get("computed")))
    places = (Decimal(str(row.get("base_tolerance") or "0.005")) * 2).normalize()
    rounded = computed.quantize(places, rounding=ROUND_HALF_UP)
    name, exact = row.get("indicator_name") or row["measure"], computed.quantize(places / 10)
    return (
        f"{name}：申报 {declared}%，精确值 {exact}% 四舍五入应为 {rounded}%；申报数为截断所得。",
        f"{row['measure']}: declared {declared}%, the exact {exact}% rounds to {rounded}%; "
        f"the declared rate was truncated, not rounded.",
    )


RELATION_ZH = {"ratio": "比率 = 分子 ÷ 分母", "sum": "合计 = 各部分之和", "at_most": "部分不超过整体"}
RELATION_EN = {"ratio": "rate = numerator / denominator", "sum": "total = sum of parts", "at_most": "part ≤ whole"}


def consistency_explanation(row: Mapping[str, Any], suspects: Sequence[str]) -> tuple[str, str]:
    """Declared figures that cannot all be true: which, by which relation, and the suspect if the detail knows."""
    relation, printed = str(row.get("relation")), str(row.get("printed"))
    names = str(row.get("figures", "")).split(",")
    zh = f"{printed}：按打印精度，这{len(names)}个数不可能同时成立（{RELATION_ZH[relation]}），至少其中一个有误。"
    en = (
        f"{printed}: at their printed precision these {len(names)} figures cannot all be true "
        f"({RELATION_EN[relation]}); at least one is wrong."
    )
    if suspects:
        zh += f"与明细计算不符的是 {'、'.join(suspects)}。"
        en += f" The one the detail contradicts: {', '.join(suspects)}."
    return zh, en


OFFICIAL_COMMENT = (
    "商丘市巩固拓展脱贫攻坚成果官方指标 — every figure the indicator report declares, per county and month, with the "
    "value computed from the departments' detail and a status; official_value is null when the figure is withheld "
    "(contradicted by the detail or by other declared figures)."
)
OFFICIAL_COLUMNS = {  # name: (type, comment: its Chinese name and 口径)
    "month_start": ("date not null", "统计月份 — first day of the reporting month."),
    "county_code": ("text not null", "县（市、区）代码 County code; 411400 is the 商丘市 row."),
    "county_name": ("text", "县（市、区）名称 County name."),
    "indicator_code": ("text not null", "指标代码 — the figure's code in the indicator report."),
    "indicator_name": ("text", "指标名称 — the figure's name as the report prints it."),
    "department": ("text", "责任部门 — the department that declares the figure."),
    "declared_value": ("numeric", "报告值 — the figure as declared, in declared_unit."),
    "declared_unit": ("text", "报告单位 — the unit the figure is declared in (万元, 户, %, …)."),
    "as_of": ("text", "截止时间 — the date the figure is as of, when the report gives one."),
    "declared_base": ("numeric", "报告值（基本单位） — the declared figure in base_unit."),
    "base_unit": ("text", "基本单位 — the unit of declared_base and computed_base (元, 户, 人, %)."),
    "computed_base": ("numeric", "计算值 — the figure computed from the departments' detail, in base_unit."),
    "computed_mart": ("text", "计算来源 — the mart the computed value comes from."),
    "official_value": ("numeric", "官方值 — the declared figure when it may be printed; null when it is withheld."),
    "status": ("text not null", "状态 — " + ", ".join(STATUSES) + " (status_zh says each in Chinese)."),
    "status_zh": ("text not null", "状态（中文） — the status in Chinese."),
    "finding_rule_run_id": ("bigint", "发现编号 — the dq.rule_runs row of the finding behind the status, if any."),
}


def build_official_indicators(
    conn: Connection[Any], month: dt.date, rule: Rule, findings: Mapping[tuple[str, str], tuple[str, int]]
) -> int:
    """(Re)write the month of ``candidate.mart_official_indicators``; returns its row count.

    ``rule`` is the declared = computed rule (its mapping gives each figure's computed value);
    ``findings`` maps (county, indicator) to (status, rule_run_id) for every figure a rule found.
    """
    table = sql.Identifier(config.SCHEMA_CANDIDATE, OFFICIAL)
    conn.execute("select pg_advisory_xact_lock(%s)", [_TABLE_LOCK])  # two months' gates never both create it
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, (kind, _) in OFFICIAL_COLUMNS.items()
    )
    conn.execute(
        sql.SQL("create table if not exists {} ({}, primary key (month_start, county_code, indicator_code))").format(
            table, columns
        )
    )
    conn.execute(sql.SQL("comment on table {} is {}").format(table, sql.Literal(OFFICIAL_COMMENT)))
    for name, (_, text) in OFFICIAL_COLUMNS.items():
        conn.execute(sql.SQL("comment on column {}.{} is {}").format(table, sql.Identifier(name), sql.Literal(text)))
    conn.execute(sql.SQL("delete from {} where month_start = %s").format(table), [month])
    conn.execute("select set_config(%s, %s, true)", [gx_context.MONTH_SETTING, month.isoformat()])
    batch = f"(select * from {WAREHOUSE.scoped(rule.relation)})"
    computed = {
        (row[0], row[2]): (row[3], row[4])
        for row in conn.execute(declared_values_sql(rule).replace("{batch}", batch)).fetchall()  # type: ignore[arg-type]
    }
    declared = conn.execute(
        sql.SQL(
            """select d.county_code, c.county_name, d.indicator_code, d.indicator_name, d.department, d.declared_value,
                      d.declared_unit, d.as_of, d.base_value, d.base_unit
               from {} as d left join {} as c using (county_code) where d.month_start = %s"""
        ).format(
            sql.Identifier(config.SCHEMA_STAGING, rule.relation), sql.Identifier(config.SCHEMA_CORE, "dim_county")
        ),
        [month],
    ).fetchall()
    rows = []
    for county, county_name, code, name, department, value, unit, as_of, base, base_unit in declared:
        value_computed, mart = computed.get((county, code), (None, None))
        bound = rule.options["indicators"].get(code, {}).get("operator", "=") != "="
        status, finding = findings.get(
            (county, code), ("unverified" if value_computed is None else "bound_holds" if bound else "consistent", None)
        )
        zh, official = STATUSES[status]
        rows.append(
            (month, county, county_name, code, name, department, value, unit, as_of, base, base_unit,
             value_computed, mart, value if official else None, status, zh, finding)
        )  # fmt: skip
    with conn.cursor() as cursor:
        cursor.executemany(
            sql.SQL("insert into {} values ({})").format(table, sql.SQL(", ").join([sql.Placeholder()] * 17)), rows
        )
    return len(rows)
