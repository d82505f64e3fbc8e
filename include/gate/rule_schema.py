"""The rule schema: what ``expectations/rules/*.yml`` may say, parsed and checked into ``Rule`` values.

A rule (modelled on DHIS2 validation rules) names a left side, an operator and a
right side, the scope (county levels, counties and months), a tolerance, what to
do with a missing value, a severity (``fail`` blocks publication, ``warn``
publishes with a flag), the owning department and a Chinese and an English
description. A rule is written once for "each county": its query (``rule_sql``)
evaluates every county and the 商丘市 row of the month at once, so nothing is
copy-pasted per county. The format is documented in ``expectations/README.md`` and
``expectations/rules/microcredit.yml``.

A relation with several rows per county and month (one per programme, feed, category, ...) is
checked per group: ``by: [program_code]`` adds its columns to the county and month that pair the
rows (``GROUPED`` kinds), so one rule replaces one copy per group.

Anything the schema does not know (a field, a kind, a value outside its list) is rejected,
and every name and expression that reaches SQL is checked here to be a plain identifier,
column arithmetic or a quote-free literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from include import config

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
EXPRESSION = re.compile(r"^[a-z0-9_ .,+\-*/()]+$")  # column arithmetic only: no quotes, no semicolons
LITERAL = re.compile(r"^[^'\"\\{};]*$")  # a `where` value: no quotes, backslashes, braces or semicolons
COUNTY = re.compile(r"^\d{6}$")
SEVERITIES = ("fail", "warn")
OPERATORS = {"=": "=", "==": "=", "<=": "<=", ">=": ">=", "<": "<", ">": ">", "in": "in"}
LEVELS = ("county", "city")
MISSING = ("fail", "skip", "zero")
AGGREGATES = ("sum", "count", "count_distinct")
QUARTER_ENDS = ("3", "6", "9", "12")
RELATION_SCHEMAS = {
    "mart_": config.SCHEMA_CANDIDATE,
    "stg_": config.SCHEMA_STAGING,
    "fct_": config.SCHEMA_CORE,
    "dim_": config.SCHEMA_CORE,
}
COMMON_FIELDS = {
    "id",
    "kind",
    "relation",
    "measures",
    "measure",
    "left",
    "right",
    "operator",
    "scope",
    "tolerance",
    "missing",
    "severity",
    "owner",
    "description_zh",
    "description_en",
}
# Fields only one kind reads; anything else in a rule is a typo and rejected.
KIND_FIELDS = {
    "declared": {"indicators", "finds"},
    "consistency": {"relations", "finds"},
    "hierarchy": set(),
    "comparison": set(),
    "ratio": {"rate", "numerator", "denominator", "scale", "operand_rounding"},
    "rank": {"rank", "by", "ascending"},
    "monotonic": {"feed"},
    "cross_reference": {"same_month"},
    "outlier": {"min", "max", "max_change", "compare_to"},
}
KINDS = tuple(KIND_FIELDS)  # every kind a rule may have; rule_sql.TEMPLATES compiles each
# Kinds whose rows can be compared per group (`by`); rank's own `by` is the figure it ranks.
GROUPED = ("hierarchy", "comparison", "monotonic", "outlier")
GROUP_KEYS = ("county_code", "month_start")  # every rule pairs rows by these already
COMPARE_TO = {"previous_month": "1 month", "previous_year": "1 year"}  # 环比, 同比
# What a declared or consistency rule reports: figures no exact values can satisfy (printed by rounding or
# by truncation), or rates that hold only when read as truncated (57.03% printed for 57.038%).
FINDS = ("contradiction", "truncation")
RELATIONS = ("ratio", "sum", "at_most")  # consistency: rate = 100 × a / b; whole = Σ parts; part ≤ whole


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a relation, a value expression over its columns, an optional row filter
    (``where``: column -> allowed values) and an optional aggregate of its rows per county and month."""

    relation: str
    value: str
    where: tuple[tuple[str, tuple[str | int | float | bool, ...]], ...] = ()
    aggregate: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    relation: str  # the primary relation: its month-scoped view is the GX batch
    severity: str
    owner: str
    description_zh: str
    description_en: str
    measures: tuple[str, ...] = ()
    measure: str = ""  # the name a single-expression rule reports its rows under (default: the id)
    left: Side | None = None
    right: tuple[Side, ...] = ()  # one side; several registers for cross_reference
    operator: str = "="
    levels: tuple[str, ...] = LEVELS
    counties: tuple[str, ...] = ()  # empty: every county
    exclude_counties: tuple[str, ...] = ()
    months: tuple[str, ...] = ()  # empty: every month; "YYYY-MM" one month, "12" every December
    tolerance: Decimal = Decimal(0)
    relative: bool = False  # tolerance is a fraction of the computed value
    missing: str = "fail"
    by: tuple[str, ...] = ()  # group columns: rows are paired per county, month and group (GROUPED kinds)
    options: dict[str, Any] = field(default_factory=dict)

    def relations(self) -> set[str]:
        names = {self.relation}
        for side in (self.left, *self.right):
            if side:
                names.add(side.relation)
        names |= {spec["relation"] for spec in self.options.get("indicators", {}).values()}
        return names


def relation_schema(relation: str) -> str:
    """The schema dbt builds ``relation`` in (by the house naming convention)."""
    for prefix, schema in RELATION_SCHEMAS.items():
        if relation.startswith(prefix):
            return schema
    raise ValueError(f"no schema for relation {relation!r}")


@dataclass(frozen=True)
class Schemas:
    """Where compiled rules read: month-scoped views in ``gate``, earlier months from the relations
    themselves (by the dbt naming convention). Tests point both at scratch schemas."""

    gate: str = config.SCHEMA_GATE
    relations: str | None = None  # one schema holding every relation; None: relation_schema()

    def schema_of(self, relation: str) -> str:
        return self.relations or relation_schema(relation)

    def scoped(self, relation: str) -> str:
        return f"{self.gate}.{relation}"

    def full(self, relation: str) -> str:
        return f"{self.schema_of(relation)}.{relation}"


WAREHOUSE = Schemas()


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def identifier(value: str) -> str:
    """``value`` when it is a plain lower-case SQL identifier; otherwise ValueError."""
    if not IDENTIFIER.match(str(value)):
        raise ValueError(f"not a plain SQL identifier: {value!r}")
    return value


def expression(value: str) -> str:
    """``value`` when it is column arithmetic (names, numbers, + - * / and parentheses); otherwise ValueError."""
    if not EXPRESSION.match(str(value)):
        raise ValueError(f"a rule expression may use column names, numbers and + - * / ( ) only: {value!r}")
    return value


def literal(value: str | int | float | bool) -> str:
    """``value`` as a SQL literal (a string quoted, refused when it holds quotes, backslashes, braces or ;)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if not LITERAL.match(value):
        raise ValueError(f"a `where` value may not contain quotes, backslashes, braces or semicolons: {value!r}")
    return f"'{value}'"


def _side(spec: dict[str, Any], default_relation: str) -> Side:
    unknown = set(spec) - {"relation", "value", "where", "aggregate"}
    if unknown:
        raise ValueError(f"unknown side field(s) {sorted(unknown)}")
    aggregate = spec.get("aggregate")
    if aggregate is not None and aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}")
    value = str(spec.get("value", ""))  # empty when the rule compares `measures` column by column
    if value and aggregate in ("count", "count_distinct"):
        identifier(value)  # what is counted is a column
    where = []
    for column, allowed in (spec.get("where") or {}).items():
        values = tuple(allowed) if isinstance(allowed, list) else (allowed,)
        for item in values:
            literal(item)
        where.append((identifier(column), values))
    return Side(
        relation=identifier(spec.get("relation", default_relation)),
        value=expression(value) if value else "",
        where=tuple(where),
        aggregate=aggregate,
    )


def _group_by(spec: Any) -> tuple[str, ...]:
    """``by``: a column or a list of distinct columns other than county_code and month_start."""
    if spec is None:
        return ()
    columns = tuple(identifier(column) for column in (spec if isinstance(spec, list) else [spec]))
    if not columns or len(set(columns)) != len(columns) or set(columns) & set(GROUP_KEYS):
        raise ValueError(f"`by` lists distinct columns other than {GROUP_KEYS}: {spec!r}")
    return columns


def _months(spec: Any) -> tuple[str, ...]:
    """``all``, or a list of ``YYYY-MM`` (that month), ``12`` (every December) and ``quarter_ends``."""
    if spec == "all":
        return ()
    months: list[str] = []
    for item in spec if isinstance(spec, list) else [spec]:
        text = str(item)
        if text == "quarter_ends":
            months += QUARTER_ENDS
        elif re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text) or (text.isdigit() and 1 <= int(text) <= 12):
            months.append(text if "-" in text else str(int(text)))
        else:
            raise ValueError(f"a month is YYYY-MM, a month number 1-12 or quarter_ends: {item!r}")
    return tuple(months)


def _counties(spec: Any) -> tuple[str, ...]:
    if spec in (None, "all"):
        return ()
    codes = tuple(str(code) for code in (spec if isinstance(spec, list) else [spec]))
    for code in codes:
        if not COUNTY.match(code):
            raise ValueError(f"a county is its six-digit code: {code!r}")
    return codes


def _tolerance(spec: Any) -> tuple[Decimal, bool]:
    """``0.5`` or ``{absolute: 0.5}``; ``{relative: 0.01}`` (1 % of the computed value);
    ``{decimals: 2}`` (half a unit in the last printed place: 0.005)."""
    if not isinstance(spec, dict):
        return Decimal(str(spec)), False
    if len(spec) != 1 or next(iter(spec)) not in ("absolute", "relative", "decimals"):
        raise ValueError(f"tolerance is a number or one of absolute, relative, decimals: {spec!r}")
    ((how, value),) = spec.items()
    if how == "decimals":
        return Decimal(5).scaleb(-int(value) - 1), False
    return Decimal(str(value)), how == "relative"


def _check_kind(rule: Rule) -> None:
    needs = {
        "declared": bool(rule.options.get("indicators")),
        "consistency": bool(rule.options.get("relations")),
        "hierarchy": bool(rule.measures),
        "comparison": bool(rule.left and len(rule.right) == 1)
        and (bool(rule.measures) or all(s.value or s.aggregate == "count" for s in (rule.left, *rule.right) if s)),
        "ratio": {"rate", "numerator", "denominator"} <= set(rule.options),
        "rank": {"rank", "by"} <= set(rule.options),
        "monotonic": bool(rule.measures),
        "cross_reference": bool(rule.left and rule.left.value and rule.right and all(s.value for s in rule.right)),
        "outlier": bool(rule.measures) and bool({"min", "max", "max_change"} & set(rule.options)),
    }
    if not needs[rule.kind]:
        raise ValueError(f"{rule.id}: a {rule.kind} rule lacks required fields (see expectations/README.md)")
    if (rule.operator == "in") != (rule.kind == "cross_reference"):
        raise ValueError(f"{rule.id}: the operator `in` is for cross_reference rules, and only it")
    if rule.options.get("compare_to", "previous_month") not in COMPARE_TO:
        raise ValueError(f"{rule.id}: compare_to must be one of {sorted(COMPARE_TO)}")
    if rule.options.get("finds", "contradiction") not in FINDS:
        raise ValueError(f"{rule.id}: finds must be one of {FINDS}")
    for relation in rule.options.get("relations", ()):
        kinds = set(relation) - {"figure"}
        if "figure" not in relation or len(kinds) != 1 or not kinds <= set(RELATIONS):
            raise ValueError(f"{rule.id}: a relation is a figure and one of {RELATIONS}: {relation!r}")


def _rule(item: dict[str, Any], owner: str) -> Rule:
    rule_id = identifier(item["id"])
    kind = item["kind"]
    if kind not in KINDS:
        raise ValueError(f"{rule_id}: unknown rule kind {kind!r}")
    unknown = set(item) - COMMON_FIELDS - KIND_FIELDS[kind] - ({"by"} if kind in GROUPED else set())
    if unknown:
        raise ValueError(f"{rule_id}: unknown field(s) for a {kind} rule: {sorted(unknown)}")
    if item["severity"] not in SEVERITIES:
        raise ValueError(f"{rule_id}: severity must be one of {SEVERITIES}")
    scope = item.get("scope", {})
    unknown = set(scope) - {"levels", "counties", "exclude_counties", "months"}
    if unknown:
        raise ValueError(f"{rule_id}: unknown scope field(s) {sorted(unknown)}")
    levels = tuple(scope.get("levels", LEVELS))
    if not levels or not set(levels) <= set(LEVELS):
        raise ValueError(f"{rule_id}: levels must be among {LEVELS}")
    missing = item.get("missing", "fail")
    if missing not in MISSING:
        raise ValueError(f"{rule_id}: missing must be one of {MISSING}")
    relation = item.get("relation") or (item.get("left") or {}).get("relation")
    if not relation:
        raise ValueError(f"{rule_id}: name the relation checked (relation, or left.relation)")
    relation = identifier(relation)
    right = item.get("right") or []
    default_operator = {"monotonic": ">=", "cross_reference": "in"}.get(kind, "=")
    tolerance, relative = _tolerance(item.get("tolerance", 0))
    rule = Rule(
        id=rule_id,
        kind=kind,
        relation=relation,
        severity=item["severity"],
        owner=item.get("owner", owner),
        description_zh=item["description_zh"],
        description_en=item["description_en"],
        measures=tuple(identifier(m) for m in item.get("measures", ())),
        measure=identifier(item.get("measure", rule_id)),
        left=_side(item["left"], relation) if "left" in item else None,
        right=tuple(_side(spec, relation) for spec in (right if isinstance(right, list) else [right])),
        operator=OPERATORS[str(item.get("operator", default_operator))],
        levels=levels,
        counties=_counties(scope.get("counties")),
        exclude_counties=_counties(scope.get("exclude_counties")),
        months=_months(scope.get("months", "all")),
        tolerance=tolerance,
        relative=relative,
        missing=missing,
        by=_group_by(item.get("by")) if kind in GROUPED else (),
        options={key: value for key, value in item.items() if key in KIND_FIELDS[kind]},
    )
    _check_kind(rule)
    return rule


def parse(path: Path) -> list[Rule]:
    """The rules of one YAML file, each parsed and checked (ValueError on anything the schema refuses)."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [_rule(item, spec.get("owner", "")) for item in spec["rules"]]


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule of ``expectations/rules/*.yml``, in file order; rule ids are unique across the files."""
    found = [rule for path in sorted(config.RULES_DIR.glob("*.yml")) for rule in parse(path)]
    ids = [rule.id for rule in found]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate rule ids: {sorted(duplicates)}")
    return tuple(found)
