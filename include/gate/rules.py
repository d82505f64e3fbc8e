"""Declarative data-quality rules (``expectations/rules/*.yml``) and their compilation to SQL.

A rule (modelled on DHIS2 validation rules) names a left side, an operator and a
right side, the scope (county levels and months), a tolerance, what to do with a
missing value, a severity (``fail`` blocks publication, ``warn`` publishes with a
flag), the owning department and a Chinese and an English description. A rule is
written once for "each county": the SQL evaluates every county and the 商丘市 row
of the month at once, so nothing is copy-pasted per county.

Each rule compiles to the unexpected-rows query of one Great Expectations
``UnexpectedRowsExpectation``. Every query returns the same columns:
``county_code, month_start, measure, declared, computed, difference``, so the
gate can record and report any failure the same way. ``{batch}`` is the rule's
primary relation restricted to the run's month; other relations are read through
their month-scoped ``gate.<relation>`` views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from include import config

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
EXPRESSION = re.compile(r"^[a-z0-9_ .+\-*/()]+$")  # column arithmetic only: no quotes, no semicolons
SEVERITIES = ("fail", "warn")
OPERATORS = {"=": "=", "==": "=", "<=": "<=", ">=": ">=", "<": "<", ">": ">"}
LEVELS = ("county", "city")
MISSING = ("fail", "skip", "zero")
RELATION_SCHEMAS = {
    "mart_": config.SCHEMA_CANDIDATE,
    "stg_": config.SCHEMA_STAGING,
    "fct_": config.SCHEMA_CORE,
    "dim_": config.SCHEMA_CORE,
}


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a relation and a value expression over its columns."""

    relation: str
    value: str


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
    left: Side | None = None
    right: Side | None = None
    operator: str = "="
    levels: tuple[str, ...] = LEVELS
    months: tuple[str, ...] = ()  # empty: every month
    tolerance: float = 0.0
    missing: str = "fail"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        return relation_schema(self.relation)

    def relations(self) -> set[str]:
        names = {self.relation}
        for side in (self.left, self.right):
            if side:
                names.add(side.relation)
        if self.options.get("registers"):
            names |= set(self.options["registers"])
        return names


def relation_schema(relation: str) -> str:
    """The schema dbt builds ``relation`` in (by the house naming convention)."""
    for prefix, schema in RELATION_SCHEMAS.items():
        if relation.startswith(prefix):
            return schema
    raise ValueError(f"no schema for relation {relation!r}")


def _identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(f"not a plain SQL identifier: {value!r}")
    return value


def _expression(value: str) -> str:
    if not EXPRESSION.match(value):
        raise ValueError(f"a rule expression may use column names, numbers and + - * / ( ) only: {value!r}")
    return value


def _side(spec: dict[str, str] | None, default_relation: str) -> Side | None:
    if spec is None:
        return None
    value = spec.get("value", "")  # empty when the rule compares `measures` column by column
    return Side(_identifier(spec.get("relation", default_relation)), _expression(value) if value else "")


def _rule(item: dict[str, Any], owner: str) -> Rule:
    if item["severity"] not in SEVERITIES:
        raise ValueError(f"{item['id']}: severity must be one of {SEVERITIES}")
    if item["kind"] not in TEMPLATES:
        raise ValueError(f"{item['id']}: unknown rule kind {item['kind']!r}")
    scope = item.get("scope", {})
    levels = tuple(scope.get("levels", LEVELS))
    if not set(levels) <= set(LEVELS):
        raise ValueError(f"{item['id']}: levels must be among {LEVELS}")
    months = scope.get("months", "all")
    missing = item.get("missing", "fail")
    if missing not in MISSING:
        raise ValueError(f"{item['id']}: missing must be one of {MISSING}")
    known = {
        "id",
        "kind",
        "relation",
        "measures",
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
    relation = _identifier(item.get("relation") or item["left"]["relation"])
    return Rule(
        id=_identifier(item["id"]),
        kind=item["kind"],
        relation=relation,
        severity=item["severity"],
        owner=item.get("owner", owner),
        description_zh=item["description_zh"],
        description_en=item["description_en"],
        measures=tuple(_identifier(m) for m in item.get("measures", ())),
        left=_side(item.get("left"), relation),
        right=_side(item.get("right"), relation),
        operator=OPERATORS[str(item.get("operator", "="))],
        levels=levels,
        months=() if months == "all" else tuple(str(m) for m in months),
        tolerance=float(item.get("tolerance", 0)),
        missing=missing,
        options={key: value for key, value in item.items() if key not in known},
    )


def parse(path: Path) -> list[Rule]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [_rule(item, spec.get("owner", "")) for item in spec["rules"]]


@cache
def all_rules() -> tuple[Rule, ...]:
    found = [rule for path in sorted(config.RULES_DIR.glob("*.yml")) for rule in parse(path)]
    ids = [rule.id for rule in found]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate rule ids: {sorted(duplicates)}")
    return tuple(found)


# ---------------------------------------------------------------------------------------------
# SQL templates, one per rule kind. Every one returns county_code, month_start, measure,
# declared, computed, difference for the offending county-months only.
# ---------------------------------------------------------------------------------------------


def _gate(relation: str) -> str:
    return f"{config.SCHEMA_GATE}.{relation}"


def _scope(rule: Rule, alias: str) -> str:
    """SQL condition restricting ``alias`` to the rule's levels and months."""
    city = config.CITY_CODE
    parts = []
    if rule.levels == ("county",):
        parts.append(f"{alias}.county_code <> '{city}'")
    elif rule.levels == ("city",):
        parts.append(f"{alias}.county_code = '{city}'")
    if rule.months:
        listed = ", ".join(f"date '{_month(m)}'" for m in rule.months)
        parts.append(f"{alias}.month_start in ({listed})")
    return " and ".join(parts) or "true"


def _month(text: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}", text):
        raise ValueError(f"a month is written YYYY-MM: {text!r}")
    return f"{text}-01"


def _unpivot(alias: str, measures: tuple[str, ...]) -> str:
    pairs = ", ".join(f"('{m}', {alias}.{m}::numeric)" for m in measures)
    return f"cross join lateral (values {pairs}) as m (measure, value)"


def _violation(rule: Rule, declared: str, computed: str) -> str:
    """The condition under which a declared/computed pair breaks the rule."""
    tolerance = rule.tolerance
    if rule.operator == "=":
        broken = f"abs({declared} - {computed}) > {tolerance}"
    else:
        broken = f"not ({declared} {rule.operator} {computed} + {tolerance})"
    if rule.missing == "fail":
        return f"({declared} is null or {computed} is null or {broken})"
    if rule.missing == "zero":
        return broken.replace(declared, f"coalesce({declared}, 0)").replace(computed, f"coalesce({computed}, 0)")
    return f"({declared} is not null and {computed} is not null and {broken})"


def _hierarchy(rule: Rule) -> str:
    city = config.CITY_CODE
    return f"""
with b as (select * from {{batch}} as batch_rows where {_scope(rule, "batch_rows")}),
long as (
    select b.month_start, b.county_code, m.measure, m.value
    from b {_unpivot("b", rule.measures)}
),
city as (select month_start, measure, value as declared from long where county_code = '{city}'),
parts as (
    select month_start, measure, sum(value) as computed from long where county_code <> '{city}'
    group by month_start, measure
)
select
    '{city}' as county_code,
    coalesce(city.month_start, parts.month_start) as month_start,
    coalesce(city.measure, parts.measure) as measure,
    city.declared,
    parts.computed,
    city.declared - parts.computed as difference
from city
full outer join parts on city.month_start = parts.month_start and city.measure = parts.measure
where {_violation(rule, "city.declared", "parts.computed")}
"""


def _comparison(rule: Rule) -> str:
    """Left side against right side per county and month (part <= whole, 汇总 = detail, declared = computed)."""
    if rule.measures:
        left_relation = rule.left.relation if rule.left else rule.relation
        right_relation = rule.right.relation if rule.right else rule.relation
        pairs = [(m, m, m) for m in rule.measures]
    else:
        assert rule.left and rule.right, f"{rule.id}: a comparison needs left and right, or measures"
        left_relation, right_relation = rule.left.relation, rule.right.relation
        pairs = [(rule.options.get("measure", rule.id), rule.left.value, rule.right.value)]
    left_source = "{batch}" if left_relation == rule.relation else _gate(left_relation)
    right_source = "{batch}" if right_relation == rule.relation else _gate(right_relation)
    left_values = ", ".join(f"('{name}', ({_qualify(expr, 'l')})::numeric)" for name, expr, _ in pairs)
    right_values = ", ".join(f"('{name}', ({_qualify(expr, 'r')})::numeric)" for name, _, expr in pairs)
    return f"""
with lhs as (
    select l.county_code, l.month_start, v.measure, v.value
    from {left_source} as l cross join lateral (values {left_values}) as v (measure, value)
    where {_scope(rule, "l")}
),
rhs as (
    select r.county_code, r.month_start, v.measure, v.value
    from {right_source} as r cross join lateral (values {right_values}) as v (measure, value)
    where {_scope(rule, "r")}
)
select
    coalesce(lhs.county_code, rhs.county_code) as county_code,
    coalesce(lhs.month_start, rhs.month_start) as month_start,
    coalesce(lhs.measure, rhs.measure) as measure,
    lhs.value as declared,
    rhs.value as computed,
    lhs.value - rhs.value as difference
from lhs
full outer join rhs
    on lhs.county_code = rhs.county_code and lhs.month_start = rhs.month_start and lhs.measure = rhs.measure
where {_violation(rule, "lhs.value", "rhs.value")}
"""


_WORD = re.compile(r"\b([a-z_][a-z0-9_]*)\b")
_FUNCTIONS = {"round", "abs", "coalesce", "nullif", "greatest", "least"}


def _qualify(expression: str, alias: str) -> str:
    """Prefix the column names of a rule expression with a table alias; arithmetic is in numeric.

    ``balance_households / (lifted_households + monitored_households)`` on integer columns
    would otherwise divide as integers.
    """
    return _WORD.sub(lambda m: m[1] if m[1] in _FUNCTIONS else f"{alias}.{m[1]}::numeric", expression)


def _ratio(rule: Rule) -> str:
    """A printed rate equals numerator / denominator, within the rounding of what was printed.

    ``decimals`` is the precision the rate is printed with (24.41% -> 2); ``operand_rounding``
    is how far the printed numerator and denominator may each be from their true values
    (0 for counts, 0.005 for amounts printed in 亿元 with two decimals).
    """
    rate, numerator, denominator = rule.options["rate"], rule.options["numerator"], rule.options["denominator"]
    scale = float(rule.options.get("scale", 100))
    half = 0.5 * 10 ** -int(rule.options.get("decimals", 2))
    slack = float(rule.options.get("operand_rounding", 0))
    num, den = _qualify(numerator, "b"), _qualify(denominator, "b")
    return f"""
with b as (select * from {{batch}} as batch_rows where {_scope(rule, "batch_rows")}),
bounds as (
    select
        b.county_code,
        b.month_start,
        b.{_identifier(rate)}::numeric as printed,
        {scale} * ({num})::numeric / nullif(({den})::numeric, 0) as computed,
        {scale} * (({num})::numeric - {slack}) / nullif(({den})::numeric + {slack}, 0) as lowest,
        {scale} * (({num})::numeric + {slack}) / nullif(({den})::numeric - {slack}, 0) as highest
    from b
)
select
    county_code,
    month_start,
    '{rate}' as measure,
    printed as declared,
    round(computed, 4) as computed,
    round(printed - computed, 4) as difference
from bounds
where {
        _violation(rule, "printed", "computed").replace(
            f"abs(printed - computed) > {rule.tolerance}", f"(printed + {half} < lowest or printed - {half} > highest)"
        )
    }
"""


def _rank(rule: Rule) -> str:
    """A printed rank equals the order of the figure it ranks (highest first unless ascending)."""
    printed, by = _identifier(rule.options["rank"]), rule.options["by"]
    order = "asc" if rule.options.get("ascending") else "desc"
    city = config.CITY_CODE
    return f"""
with b as (select * from {{batch}} as batch_rows where batch_rows.county_code <> '{city}'),
ranked as (
    select
        b.county_code,
        b.month_start,
        b.{printed}::numeric as printed,
        rank() over (partition by b.month_start order by ({_qualify(by, "b")})::numeric {order}) as computed
    from b
)
select county_code, month_start, '{printed}' as measure, printed as declared, computed::numeric as computed,
    printed - computed as difference
from ranked
where {_violation(rule, "printed", "computed")}
"""


def _monotonic(rule: Rule) -> str:
    """A year-to-date figure never falls from one month to the next, unless the month is restated."""
    schema = relation_schema(rule.relation)
    restated = rule.options.get("feed")
    restatement = (
        f"and not exists (select 1 from ops.loads l where l.feed = '{_identifier(restated)}' "
        f"and l.feed_month = b.month_start and l.is_current and l.version > 1)"
        if restated
        else ""
    )
    checks = []
    for measure in rule.measures:
        checks.append(f"""
select b.county_code, b.month_start, '{measure}' as measure,
    b.{measure}::numeric as declared, p.{measure}::numeric as computed,
    b.{measure}::numeric - p.{measure}::numeric as difference
from {{batch}} as b
inner join {schema}.{rule.relation} as p
    on p.county_code = b.county_code and p.month_start = (b.month_start - interval '1 month')::date
where extract(month from b.month_start) > 1 and {_scope(rule, "b")}
    and b.{measure} + {rule.tolerance} < p.{measure} {restatement}""")
    return "\nunion all\n".join(checks)


def _cross_reference(rule: Rule) -> str:
    """Keys on the rule's list that no register knows (e.g. a 医保 early-warning ID unknown to the registers)."""
    key = _identifier(rule.options["key"])
    registers = [_identifier(r) for r in rule.options["registers"]]
    register_keys = rule.options.get("register_keys", {})
    known = " union ".join(
        f"select {_identifier(register_keys.get(r, key))} as person from {relation_schema(r)}.{r}" for r in registers
    )
    return f"""
with b as (select * from {{batch}} as batch_rows where {_scope(rule, "batch_rows")}),
known as ({known})
select b.county_code, b.month_start, '{key}' as measure, 1::numeric as declared, 0::numeric as computed,
    1::numeric as difference, b.{key} as person_key
from b
where b.{key} is not null and not exists (select 1 from known where known.person = b.{key})
"""


def _outlier(rule: Rule) -> str:
    """A value outside its plausible range, or moving more than ``max_change`` from the previous month."""
    schema = relation_schema(rule.relation)
    low, high = rule.options.get("min"), rule.options.get("max")
    change = rule.options.get("max_change")
    checks = []
    for measure in rule.measures:
        conditions = []
        if low is not None:
            conditions.append(f"b.{measure} < {float(low)}")
        if high is not None:
            conditions.append(f"b.{measure} > {float(high)}")
        if change is not None:
            conditions.append(
                f"(p.{measure} is not null and p.{measure} <> 0 "
                f"and abs(b.{measure}::numeric / p.{measure} - 1) > {float(change)})"
            )
        checks.append(f"""
select b.county_code, b.month_start, '{measure}' as measure, b.{measure}::numeric as declared,
    p.{measure}::numeric as computed, b.{measure}::numeric - p.{measure}::numeric as difference
from {{batch}} as b
left join {schema}.{rule.relation} as p
    on p.county_code = b.county_code and p.month_start = (b.month_start - interval '1 month')::date
where {_scope(rule, "b")} and ({" or ".join(conditions) or "false"})""")
    return "\nunion all\n".join(checks)


TEMPLATES = {
    "hierarchy": _hierarchy,
    "comparison": _comparison,
    "ratio": _ratio,
    "rank": _rank,
    "monotonic": _monotonic,
    "cross_reference": _cross_reference,
    "outlier": _outlier,
}


_JOIN = re.compile(r"\bjoin\b", re.IGNORECASE)


def compile_sql(rule: Rule) -> str:
    """The unexpected-rows query of a rule; ``{batch}`` is the month-scoped primary relation.

    GX substitutes ``{batch}`` with an aliased subquery (``... AS subselect``) unless the
    query contains a JOIN, in which case aliasing is left to the query. Every template
    aliases the batch itself, so a query without a join gets a no-op one.
    """
    sql = TEMPLATES[rule.kind](rule).strip()
    if not _JOIN.search(sql):
        sql = sql.replace("{batch} as batch_rows", "{batch} as batch_rows cross join (select 1 as one) as no_op_join")
    return sql
