"""One home for each check (issue 10): dbt keeps the structural tests, the gate's rules the arithmetic.

No database: the dbt manifest and the rules files. The marts with several rows per county are checked one
group at a time (``expectations/rules/marts_arithmetic.yml``): every group of the reference data needs its
rule, and each rule must pick its own group on both sides.
"""

from __future__ import annotations

import csv
import json

import pytest

from include import config
from include.gate.rules import Rule, all_rules

STRUCTURAL = {"unique", "not_null", "relationships", "accepted_values", "unique_combination"}


@pytest.fixture(scope="module")
def manifest() -> dict:
    if not config.DBT_MANIFEST.exists():
        from include.dbt_env import build_manifest

        build_manifest()
    return json.loads(config.DBT_MANIFEST.read_text(encoding="utf-8"))


def reference(name: str) -> list[dict[str, str]]:
    with open(config.REFERENCE_DIR / f"{name}.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def rules() -> dict[str, Rule]:
    return {rule.id: rule for rule in all_rules()}


def test_dbt_keeps_the_structural_tests_only(manifest):
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    assert tests
    kinds = {(node.get("test_metadata") or {}).get("name", "singular") for node in tests}
    assert kinds <= STRUCTURAL, f"arithmetic belongs in expectations/rules: {sorted(kinds - STRUCTURAL)}"
    generic = {m["name"] for m in manifest["macros"].values() if m["package_name"] == "shangqiu"}
    assert {name for name in generic if name.startswith("test_")} == {"test_unique_combination"}


def picks(rule: Rule, column: str, value: str) -> bool:
    """Both sides of the rule keep the rows of one group only."""
    sides = [side for side in (rule.left, *rule.right) if side and side.relation == rule.relation]
    return len(sides) == 2 and all(dict(side.where).get(column) == (value,) for side in sides)


def test_every_programme_has_its_subsidy_rules():
    found = rules()
    for program in [p["program_code"] for p in reference("ref_programs") if p["fact"] == "fct_subsidies"]:
        assert picks(found[f"subsidies_mart_county_sum_{program}"], "program_code", program)
        for check in ("payments", "amounts"):
            rule = found[f"subsidies_mart_{check}_are_the_fact_{program}"]
            assert dict(rule.left.where)["program_code"] == dict(rule.right[0].where)["program_code"] == (program,)  # type: ignore[union-attr]


def test_every_project_type_and_category_has_its_county_sum():
    found = rules()
    types = reference("ref_project_types")
    for level, column, codes in (
        ("type", "project_type_code", {t["project_type_code"] for t in types}),
        ("category", "category_code", {t["category_code"] for t in types}),
    ):
        for code in codes:
            assert picks(found[f"projects_mart_county_sum_{level}_{code}"], column, code)


def test_every_feed_and_risk_category_has_its_county_sum():
    found = rules()
    for feed in sorted(path.stem for path in config.CONTRACTS_DIR.glob("*.yml")):
        assert picks(found[f"feed_completeness_county_sum_{feed}"], "feed", feed)
    for name, category in (("unstable", "脱贫不稳定户"), ("marginal", "边缘易致贫户"), ("hardship", "突发严重困难户")):
        assert picks(found[f"monitored_summary_county_sum_{name}"], "category", category)
