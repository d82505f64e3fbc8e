"""Each feed's contract against its dbt side: a test fails on any drift between them.

- the committed sources YAML and staging macro are exactly what the contracts make (``include.ingest.dbt_sources``);
- every staging model of a sheet either takes the contract's renames (``staged_columns``) or, written by
  hand, reads only raw columns the contract has;
- the staging YAML documents only columns the model has, and tests every staged enum with the contract's
  values, no more and no fewer.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import yaml

from include.ingest import dbt_sources
from include.ingest.contract import Section, contracts

FEEDS = sorted(contracts())
LINEAGE_STAGED = {"month_start", "load_id", "file_version", "source_sheet", "source_row"}
# SQL words and the project's macros that a hand-written staging expression may use besides raw columns.
SQL_WORDS = {
    "as", "coalesce", "nullif", "numeric", "integer", "date", "text", "trim_scale", "power", "scale",
    "to_base_unit", "indicator_to_base_unit", "indicator_base_unit",
}  # fmt: skip


def _sections() -> list[tuple[str, Section]]:
    return [(feed, section) for feed in FEEDS for section in contracts()[feed].sections]


def _select_list(sql: str) -> list[str]:
    """The expressions of a staging model's ``renamed`` CTE, one per line as the house style writes them."""
    found = re.search(r"renamed as \(\s*select\s*(.*?)\s*from source\s*\)", sql, re.S)
    assert found, "a staging model is two CTEs, source then renamed"
    lines = [line.split("--")[0].strip() for line in found[1].splitlines()]
    return [line for line in lines if line]


def _aliases(expressions: list[str]) -> set[str]:
    return {m[1] for line in expressions if (m := re.search(r"\bas (\w+),?$", line))}


def staged_names(feed: str, section: Section) -> set[str]:
    """Every column the sheet's staging model has."""
    path = dbt_sources.staging_model(feed, section)
    assert path, f"{feed}: no staging model reads {section.table}_current"
    expressions = _select_list(path.read_text(encoding="utf-8"))
    names = _aliases(expressions) | {line.rstrip(",") for line in expressions if re.fullmatch(r"\w+,?", line)}
    if any("staged_columns(" in line for line in expressions):
        names |= {column.name for column in section.staged()} | LINEAGE_STAGED
    return names


@pytest.mark.parametrize("feed", FEEDS)
def test_the_committed_sources_are_what_the_contract_makes(feed):
    committed = dbt_sources.sources_path(feed).read_text(encoding="utf-8")
    assert committed == dbt_sources.sources_yaml(contracts()[feed]), (
        f"{dbt_sources.sources_path(feed)} differs from include/contracts/{feed}.yml: run `make manifest`"
    )


def test_the_committed_staging_renames_are_what_the_contracts_make():
    committed = dbt_sources.STAGING_MACRO.read_text(encoding="utf-8")
    assert committed == dbt_sources.staging_macro(contracts()), (
        f"{dbt_sources.STAGING_MACRO} is stale: run `make manifest`"
    )


def test_a_contract_change_shows_in_its_sources():
    contract = contracts()["education_aid"]
    detail = contract.section("detail")
    renamed = tuple(replace(c, staging="stage_of_school") if c.name == "stage" else c for c in detail.columns)
    changed = replace(contract, sections=(replace(detail, columns=renamed), contract.section("control_totals")))
    assert dbt_sources.sources_yaml(changed) != dbt_sources.sources_yaml(contract)
    assert "staged_as: stage_of_school" in dbt_sources.sources_yaml(changed)
    assert '"stage", "stage_of_school"' in dbt_sources.staging_macro({"education_aid": changed})


@pytest.mark.parametrize(("feed", "section"), _sections(), ids=lambda v: getattr(v, "table", v))
def test_staging_reads_only_what_the_contract_has(feed, section):
    path = dbt_sources.staging_model(feed, section)
    assert path, f"{feed}: no staging model reads {section.table}_current"
    expressions = _select_list(path.read_text(encoding="utf-8"))
    generated = f"{{{{ staged_columns('{feed}', '{section.table}_current') }}}}"
    raw = set(section.raw_columns())
    for line in expressions:
        if line.rstrip(",") == generated:
            continue
        expression = re.sub(r"'[^']*'", "", re.sub(r"\bas \w+,?$", "", line))  # no alias, no string literals
        unknown = {word for word in re.findall(r"[a-z_][a-z0-9_]*", expression) if word not in raw | SQL_WORDS}
        assert not unknown, f"{path.name}: `{line}` reads {sorted(unknown)}, not raw columns of {section.table}"


def _models_yaml(feed: str) -> dict[str, dict]:
    path = dbt_sources.STAGING_DIR / feed / f"_{feed}__models.yml"
    return {model["name"]: model for model in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]}


def _accepted_values(column: dict) -> set[str] | None:
    for test in column.get("data_tests", []):
        if isinstance(test, dict) and "accepted_values" in test:
            spec = test["accepted_values"]
            return set((spec.get("arguments") or spec)["values"])
    return None


@pytest.mark.parametrize(("feed", "section"), _sections(), ids=lambda v: getattr(v, "table", v))
def test_staging_yaml_matches_the_model_and_the_contract(feed, section):
    path = dbt_sources.staging_model(feed, section)
    assert path
    model = _models_yaml(feed).get(path.stem)
    assert model, f"_{feed}__models.yml does not describe {path.stem}"
    have = staged_names(feed, section)
    documented = {column["name"]: column for column in model.get("columns", [])}
    assert not set(documented) - have, f"{path.stem}: documents {sorted(set(documented) - have)}, not in the model"
    for column in section.columns:
        if column.type != "enum":
            continue
        for staged in column.staged():
            values = _accepted_values(documented.get(staged.name, {}))
            assert values == set(column.values), (
                f"{path.stem}.{staged.name}: accepted_values {sorted(values or [])} but the contract's "
                f"{column.name} takes {sorted(column.values)}"
            )
