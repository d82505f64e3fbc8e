"""Every 汇总 is checked: each measure of a feed's control totals is compared by some rule.

A measure is a count, amount, quantity or number column of a contract's ``control_totals`` section.
It is covered when a rule over ``stg_<feed>__control_totals`` names its staging column: in the
``measures`` of a hierarchy or comparison rule, in the left ``value`` of a comparison rule, or in the
numerator or denominator of a ratio rule. The staging column is the contract's staged name
(``dibao_amount`` becomes ``dibao_amount_yuan``, ``temp_times`` ``temp_assistance_times``), or what a
staging model of its own selects it as.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest

from include import config
from include.gate.rule_schema import Rule, all_rules
from include.ingest.contract import contracts

MEASURE_TYPES = {"count", "amount", "quantity", "number"}
WORD = re.compile(r"[a-z_][a-z0-9_]*")
SELECTED = re.compile(r"^\s*(?P<expression>.+?)\s+as\s+(?P<column>\w+),?\s*$")
FEEDS = sorted(feed for feed, c in contracts().items() if any(s.role == "control_totals" for s in c.sections))


def staging_columns(feed: str) -> dict[str, str]:
    """The feed's control-total measures (contract column -> staging column): the contract's staged names
    where staging takes its renames, else what the feed's own staging SQL selects the column as."""
    section = contracts()[feed].section("control_totals")
    model = config.DBT_PROJECT_DIR / "models" / "staging" / feed / f"stg_{feed}__control_totals.sql"
    selected = [found for line in model.read_text(encoding="utf-8").splitlines() if (found := SELECTED.match(line))]
    columns = {}
    for column in section.columns:
        if column.type in MEASURE_TYPES:
            named = [staged.name for staged in column.staged()]
            named += [m["column"] for m in selected if re.search(rf"\b{column.name}\b", m["expression"])]
            assert named, f"{feed}: control-total column {column.name} is not staged by its contract or {model.name}"
            columns[column.name] = named[0]
    return columns


def covered(relation: str, rules: Iterable[Rule]) -> set[str]:
    """The columns of ``relation`` that hierarchy, comparison or ratio rules compare."""
    names: set[str] = set()
    for rule in rules:
        if rule.kind == "hierarchy" and rule.relation == relation:
            names |= set(rule.measures)
        elif rule.kind == "comparison" and rule.left and rule.left.relation == relation:
            names |= set(rule.measures) if rule.measures else set(WORD.findall(rule.left.value))
        elif rule.kind == "ratio" and rule.relation == relation:
            names |= set(WORD.findall(f"{rule.options['numerator']} {rule.options['denominator']}"))
    return names


@pytest.mark.parametrize("feed", FEEDS)
def test_every_control_total_is_compared_by_a_rule(feed):
    relation = f"stg_{feed}__control_totals"
    checked = covered(relation, all_rules())
    uncovered = {name: column for name, column in staging_columns(feed).items() if column not in checked}
    assert not uncovered, f"no rule over {relation} compares {uncovered} (contract column: staging column)"


def test_a_measure_without_its_rules_is_reported():
    rules = [rule for rule in all_rules() if not rule.id.startswith("social_assistance_")]
    assert "dibao_amount_yuan" in covered("stg_social_assistance__control_totals", all_rules())
    assert "dibao_amount_yuan" not in covered("stg_social_assistance__control_totals", rules)
