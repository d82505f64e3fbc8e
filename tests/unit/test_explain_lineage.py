"""make explain without a database: the lineage walk, name resolution, and the mismatch verdict."""

from __future__ import annotations

import datetime as dt

import pytest

from include.explain import Count, Explanation, column_meta, county_code, mart_id, month_start, render, upstream


def model(name: str, schema: str, *parents: str, kind: str = "model", columns: dict | None = None) -> dict:
    return {
        "name": name,
        "resource_type": kind,
        "schema": schema,
        "alias": name,
        "depends_on": {"macros": ["macro.x.to_base_unit"], "nodes": list(parents)},
        "columns": columns or {},
    }


# mart ← fct ← stg_a ← source a; mart ← stg_b ← source b; mart ← dim ← seed; fct ← stg_b too (a diamond)
MANIFEST = {
    "nodes": {
        "model.p.mart_league": model(
            "mart_league",
            "candidate",
            "model.p.fct_loans",
            "model.p.stg_b",
            "model.p.dim_county",
            columns={
                "households": {
                    "description": "户数",
                    "meta": {},
                    "config": {"meta": {"explain": {"model": "fct_loans", "measure": "count(*)"}}},
                }
            },
        ),
        "model.p.fct_loans": model("fct_loans", "core", "model.p.stg_a", "model.p.stg_b"),
        "model.p.stg_a": model("stg_a", "staging", "source.p.feed.a_current"),
        "model.p.stg_b": model("stg_b", "staging", "source.p.feed.b_current"),
        "model.p.dim_county": model("dim_county", "core", "seed.p.ref_counties"),
        "seed.p.ref_counties": {"name": "ref_counties", "resource_type": "seed", "schema": "core", "alias": None},
        "test.p.unique_x": model("unique_x", "dbt_test", "model.p.mart_league", kind="test"),
    },
    "sources": {
        "source.p.feed.a_current": {"name": "a_current", "resource_type": "source", "schema": "raw", "identifier": "a"},
        "source.p.feed.b_current": {"name": "b_current", "resource_type": "source", "schema": "raw", "identifier": "b"},
    },
}


def test_lineage_walks_every_parent_down_to_the_sources_nearest_first_each_once():
    nodes = upstream(MANIFEST, "model.p.mart_league")
    assert [n.name for n in nodes] == [
        "fct_loans",
        "stg_b",
        "dim_county",
        "stg_a",
        "b_current",
        "ref_counties",
        "a_current",
    ]
    kinds = {n.name: n.kind for n in nodes}
    assert kinds["a_current"] == "source" and kinds["ref_counties"] == "seed"
    relations = {n.name: n.relation for n in nodes}
    assert relations["a_current"] == "raw.a" and relations["ref_counties"] == "core.ref_counties"
    assert upstream(MANIFEST, "model.p.stg_a")[0].relation == "raw.a"
    assert upstream(MANIFEST, "source.p.feed.a_current") == []


def test_names_resolve_with_or_without_prefix_in_any_spelling():
    assert mart_id(MANIFEST, "league") == mart_id(MANIFEST, "mart_league") == "model.p.mart_league"
    with pytest.raises(LookupError, match="mart_league"):
        mart_id(MANIFEST, "nope")
    assert county_code("睢县") == county_code("睢 县") == county_code("411422") == "411422"
    assert county_code("商丘市") == "411400"
    with pytest.raises(LookupError):
        county_code("郑州市")
    assert month_start("2021-12") == dt.date(2021, 12, 1)
    with pytest.raises(ValueError):
        month_start("12/2021")
    assert column_meta(MANIFEST, "model.p.mart_league", "households") == (
        "户数",
        {"model": "fct_loans", "measure": "count(*)"},
    )
    assert column_meta(MANIFEST, "model.p.mart_league", "other") == ("", {})


def explanation(published: int, recomputed: int) -> Explanation:
    return Explanation(
        mart="mart_league",
        county_code="411422",
        county_name="睢县",
        month=dt.date(2021, 12, 1),
        metric="households",
        row={"households": published},
        definition="户数",
        meta={"model": "fct_loans", "measure": "count(*)"},
        counts=[Count("core.fct_loans", 10, recomputed=recomputed)],
    )


def test_a_recomputation_that_differs_from_the_published_value_is_reported():
    agreeing, tampered = explanation(7040, 7040), explanation(7040, 7041)
    assert agreeing.matches is True and "✓ 一致" in render(agreeing)
    assert tampered.matches is False
    assert "✗ 不一致 MISMATCH: published 7040, difference 1" in render(tampered)
