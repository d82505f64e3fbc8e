"""One home for each check (issue 10): dbt keeps the structural tests, the gate's rules the arithmetic.

No database: the dbt manifest and the rules files. The marts with several rows per county are checked per
group (``by``, ``expectations/rules/marts_arithmetic.yml``): each family of checks is one rule grouped by the
mart's group columns, and no row filter of it may leave out a group of the reference data.
"""

from __future__ import annotations

import csv
import json

import pytest

from include import config
from include.gate.rule_schema import Rule, all_rules

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


def covers(rule: Rule, relation: str, columns: tuple[str, ...], groups: dict[str, set[str]]) -> None:
    """The rule checks ``relation`` per group of ``columns`` (``by``), and no row filter leaves out a group
    of the reference data (``groups``: column -> codes)."""
    assert rule.relation == relation and set(columns) <= set(rule.by), f"{rule.id}: not checked by {columns}"
    for side in (rule.left, *rule.right):
        for column, allowed in side.where if side else ():
            if column in groups:
                assert groups[column] <= {str(value) for value in allowed}, f"{rule.id} leaves out groups"


def test_every_programme_has_its_subsidy_rules():
    found = rules()
    programs = {p["program_code"] for p in reference("ref_programs") if p["fact"] == "fct_subsidies"}
    assert programs
    for rule_id in (
        "subsidies_mart_county_sum",
        "subsidies_mart_payments_are_the_fact",
        "subsidies_mart_amounts_are_the_fact",
    ):
        covers(found[rule_id], "mart_subsidies", ("program_code",), {"program_code": programs})
    for rule_id in ("subsidies_mart_payments_are_the_fact", "subsidies_mart_amounts_are_the_fact"):
        assert found[rule_id].right[0].relation == "fct_subsidies" and found[rule_id].right[0].aggregate


def test_every_project_type_and_category_has_its_county_sum():
    rule = rules()["projects_mart_county_sum"]
    types = reference("ref_project_types")
    groups = {
        "project_kind": {t["project_kind"] for t in types},
        "category_code": {t["category_code"] for t in types},
        "project_type_code": {t["project_type_code"] for t in types},
    }
    assert rule.kind == "hierarchy"  # every row of the mart: each kind, category and type
    covers(rule, "mart_project_progress", ("rollup_level", *groups), groups)


def test_every_feed_and_risk_category_has_its_county_sum():
    found = rules()
    feeds = {path.stem for path in config.CONTRACTS_DIR.glob("*.yml")}
    assert feeds
    covers(found["feed_completeness_county_sum"], "mart_feed_completeness", ("feed",), {"feed": feeds})
    categories = {"脱贫不稳定户", "边缘易致贫户", "突发严重困难户", "三类户合计"}
    covers(
        found["monitored_summary_county_sum"], "mart_monitored_risk_summary", ("category",), {"category": categories}
    )


def test_every_asset_category_has_its_county_sum():
    categories = {c["asset_category_code"] for c in reference("ref_asset_categories")}
    covers(
        rules()["assets_mart_county_sum"], "mart_assets", ("asset_category_code",), {"asset_category_code": categories}
    )
