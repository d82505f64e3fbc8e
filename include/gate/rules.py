"""Declarative data-quality rules (``expectations/rules/*.yml``) and their compilation.

Each rule compiles to one Great Expectations ``UnexpectedRowsExpectation`` whose
SQL is pushed down to PostgreSQL and returns the offending rows with the county,
month, measure, declared value, computed value and difference. Suites are
grouped by the relation they validate; the gate validates a month-scoped view
of that relation (``gate.<relation>``), never a whole fact table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from include import config

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
SEVERITIES = ("fail", "warn")
RELATION_SCHEMAS = {
    "mart_": config.SCHEMA_CANDIDATE,
    "stg_": config.SCHEMA_STAGING,
    "fct_": config.SCHEMA_CORE,
    "dim_": config.SCHEMA_CORE,
}


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    relation: str
    measures: tuple[str, ...]
    tolerance: float
    missing: str
    severity: str
    owner: str
    description_zh: str
    description_en: str

    @property
    def schema(self) -> str:
        return relation_schema(self.relation)


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


def parse(path: Path) -> list[Rule]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = []
    for item in spec["rules"]:
        if item["severity"] not in SEVERITIES:
            raise ValueError(f"{item['id']}: severity must be one of {SEVERITIES}")
        if item["kind"] not in TEMPLATES:
            raise ValueError(f"{item['id']}: unknown rule kind {item['kind']!r}")
        rules.append(
            Rule(
                id=_identifier(item["id"]),
                kind=item["kind"],
                relation=_identifier(item["relation"]),
                measures=tuple(_identifier(m) for m in item.get("measures", ())),
                tolerance=float(item.get("tolerance", 0)),
                missing=item.get("missing", "fail"),
                severity=item["severity"],
                owner=item.get("owner", spec.get("owner", "")),
                description_zh=item["description_zh"],
                description_en=item["description_en"],
            )
        )
    return rules


@cache
def all_rules() -> tuple[Rule, ...]:
    found = [rule for path in sorted(config.RULES_DIR.glob("*.yml")) for rule in parse(path)]
    ids = [rule.id for rule in found]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate rule ids: {sorted(duplicates)}")
    return tuple(found)


def _unpivot(measures: tuple[str, ...]) -> str:
    pairs = ", ".join(f"('{m}', b.{m}::numeric)" for m in measures)
    return f"cross join lateral (values {pairs}) as m (measure, value)"


HIERARCHY = """
with b as (select * from {{batch}} as batch_rows),
long as (
    select b.month_start, b.county_code, m.measure, m.value
    from b {unpivot}
),
city as (
    select month_start, measure, value as declared from long where county_code = '{city}'
),
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
where {missing_clause} abs(city.declared - parts.computed) > {tolerance}
"""

TEMPLATES = {"hierarchy": HIERARCHY}


def compile_sql(rule: Rule) -> str:
    """The unexpected-rows query of a rule; ``{batch}`` is the month-scoped relation."""
    missing_clause = "city.declared is null or parts.computed is null or" if rule.missing == "fail" else ""
    return (
        TEMPLATES[rule.kind]
        .format(
            unpivot=_unpivot(rule.measures),
            city=config.CITY_CODE,
            tolerance=rule.tolerance,
            missing_clause=missing_clause,
        )
        .strip()
    )
