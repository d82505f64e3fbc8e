"""Which marts a failed rule holds back, from a dbt manifest's lineage (no database)."""

from __future__ import annotations

from include.gate.lineage import Lineage


def manifest(edges: dict[str, list[str]]) -> dict:
    nodes = {f"model.p.{name}": {"name": name, "resource_type": "model"} for name in edges}
    nodes["seed.p.ref_counties"] = {"name": "ref_counties", "resource_type": "seed"}
    parents = {f"model.p.{name}": [f"model.p.{p}" if p in edges else p for p in ps] for name, ps in edges.items()}
    return {"nodes": nodes, "parent_map": parents}


LINEAGE = Lineage(
    manifest(
        {
            "stg_loans": ["source.p.microcredit.loans"],
            "stg_totals": [],
            "stg_loan_control_totals": ["source.p.microcredit.control_totals"],
            "fct_loans": ["stg_loans", "seed.p.ref_counties"],
            "mart_league": ["fct_loans", "stg_totals"],
            "mart_loans_by_bank": ["fct_loans"],
            "stg_payments": [],
            "mart_subsidies": ["stg_payments"],
            "stg_indicators": [],
        }
    )
)


def test_a_failure_in_staging_holds_back_every_mart_built_from_it_and_no_other():
    assert LINEAGE.affected_marts({"stg_loans"}) == {"mart_league", "mart_loans_by_bank"}
    assert LINEAGE.affected_marts({"stg_totals", "mart_league"}) == {"mart_league"}
    assert LINEAGE.affected_marts({"stg_payments"}) == {"mart_subsidies"}


def test_offending_rows_that_name_their_mart_hold_back_only_that_mart():
    relations = {"stg_indicators", "mart_league", "mart_subsidies"}
    assert LINEAGE.affected_marts(relations, named={"mart_subsidies"}) == {"mart_subsidies"}
    assert LINEAGE.affected_marts(relations) == {"mart_league", "mart_subsidies"}


def test_upstream_and_downstream_skip_seeds_and_sources():
    assert LINEAGE.upstream({"mart_league"}) == {"fct_loans", "stg_loans", "stg_totals"}
    assert LINEAGE.downstream({"stg_loans"}) == {"fct_loans", "mart_league", "mart_loans_by_bank"}


def test_a_failure_in_a_control_totals_sheet_holds_back_the_marts_of_the_same_feed():
    assert LINEAGE.affected_marts({"stg_loan_control_totals"}) == {"mart_league", "mart_loans_by_bank"}
