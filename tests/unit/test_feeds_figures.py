"""The published 2021 figures, figure by figure: defined in figures.yml, and reproduced by the feeds' files.

The reproduction tests generate a feed's year at scale 1 into a temporary folder, read every file
back through the ingestion parser (``include.ingest.load.parse_delivery``: nothing of the generator
is reused), compute each figure as figures.yml defines it, convert the published unit, and compare
with dbt_project/seeds/ref_published_2021_figures.csv: equal, or a documented contradiction (then
equal to what figures.yml says the detail carries, and really different from the printed value).

``SQW_FIGURES_SCALE`` (default 1) runs them at another scale against the generators' own scaled
targets instead, e.g. ``SQW_FIGURES_SCALE=0.05`` for a quick check of the calibration logic.
"""

from __future__ import annotations

import csv
import os
import shutil
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

import pytest

from include import config
from include.ingest.contract import contracts
from samples import GENERATORS, figures
from tests import readback

SCALE = float(os.environ.get("SQW_FIGURES_SCALE", "1"))
KEY = b"test-key-for-published-figures-0"
FIGURES = figures.load()
FEEDS = sorted({str(f.feed) for f in FIGURES.values() if f.feed})


def printed(code: str) -> Decimal:
    return Decimal(figures.published()[code].value)


def league_city() -> dict[str, str]:
    with open(config.REFERENCE_DIR / "ref_microcredit_league_2021_12.csv", encoding="utf-8") as handle:
        return next(row for row in csv.DictReader(handle) if row["county_name"] == "商丘市")


def reference(code: str) -> int:
    """A figure's value at scale 1 in base units: published (or documented as carried); for a helper
    the generator's calibration, or for microcredit's helpers the published league table."""
    figure = FIGURES[code]
    if figure.published:
        return figures.base(code)
    if figure.feed == "microcredit":
        column = {"microcredit_balance_households": "balance_households"}.get(code, code.removeprefix("microcredit_"))
        return int(league_city()[column])
    return int(GENERATORS[str(figure.feed)].targets(1.0)[code])


def test_figures_yml_covers_every_published_figure_once():
    published = set(figures.published())
    assert published <= set(FIGURES)
    assert {code for code, f in FIGURES.items() if f.published} == published
    for code, figure in FIGURES.items():
        if figure.published:
            assert figure.unit is None, f"{code}: the unit is the published one"
            unit = figures.published()[code].unit
            assert unit in figures._document()["units"], f"{code}: unknown unit {unit}"
        else:
            assert figure.unit and figure.feed, f"helper {code} needs a feed and a unit"


def test_every_carried_figure_is_defined_on_its_contracts_columns():
    for code, figure in FIGURES.items():
        if figure.status == "not_carried":
            assert figure.reason and figure.department_zh and figure.spec is None, code
            continue
        if figure.is_ratio:
            for part in (figure.numerator, *figure.denominator):
                assert part in FIGURES and FIGURES[str(part)].spec is not None, f"{code}: unknown part {part}"
            continue
        assert figure.spec is not None and figure.feed in contracts(), code
        section = contracts()[str(figure.feed)].section(figure.sheet)
        columns = {c.name: c for c in section.columns}
        assert figure.spec.column is None or figure.spec.column in columns, code
        for condition in figure.spec.where:
            assert condition.column in columns, f"{code}: no column {condition.column}"
            enum = columns[condition.column].values
            if enum and condition.op in ("in", "not_in"):
                assert set(condition.values) <= set(enum), f"{code}: {condition.values} not in {enum}"
        assert figure.definition, f"{code}: the 口径 must be written down"


def test_published_values_convert_to_whole_base_units():
    for code, figure in FIGURES.items():
        if figure.published and figure.spec is not None:
            assert figures.base(code) >= 0  # raises when the unit does not convert exactly


def test_contradictions_are_real_and_explained():
    """Each documented contradiction follows from the other published figures, as figures.yml says."""
    contradictions = {code for code, f in FIGURES.items() if f.status == "contradiction"}
    assert contradictions == {
        "hardship_cleared_persons",
        "microcredit_new_households",
        "microcredit_balance_household_rate",
    }
    for code in contradictions | {"cleared_household_share"}:
        figure = FIGURES[code]
        assert figure.reason and figure.carried is not None
        assert figure.carried != printed(code), f"{code}: not a contradiction"

    def base(code: str) -> int:
        return int(printed(code) * figures.factor(figures.published()[code].unit))

    assert FIGURES["hardship_cleared_persons"].carried == (
        base("cleared_persons") - base("unstable_cleared_persons") - base("marginal_cleared_persons")
    )
    assert printed("hardship_cleared_persons") > base("hardship_persons")
    city = league_city()
    eligible = int(city["lifted_households"]) + int(city["monitored_households"])
    assert FIGURES["microcredit_new_households"].carried == int(city["new_households"]) == 48059
    assert FIGURES["microcredit_balance_household_rate"].carried == Decimal(city["balance_household_rate_pct"])
    assert figures.rate(base("microcredit_new_households"), eligible, 2) == printed(
        "microcredit_balance_household_rate"
    )


def test_a_truncated_rate_is_the_exact_rate_cut_not_rounded():
    truncated = {code for code, f in FIGURES.items() if f.status == "truncated"}
    assert truncated == {"cleared_household_share"}
    exact = Decimal(figures.base("cleared_households")) / figures.base("monitored_households") * 100
    assert printed("cleared_household_share") <= exact < printed("cleared_household_share") + Decimal("0.01")
    assert FIGURES["cleared_household_share"].carried == figures.rate(exact, 1, 2, percent=False) == Decimal("57.04")


# ---- The sample's exact values against the printing, computed here without the generator's code ----------
UNITS = {"万人": 10**4, "万人次": 10**4, "万名": 10**4, "万户": 10**4, "万元": 10**4, "亿元": 10**8, "亿千瓦时": 10**8}


def printing(code: str) -> tuple[Decimal, Decimal]:
    """The exact values a printed figure allows, in its base unit: printed ± half a unit of its last digit,
    in whole base units (persons, 元) unless it is a rate."""
    text, unit = figures.published()[code].value, figures.published()[code].unit
    half = Decimal("0.5").scaleb(-len(text.partition(".")[2]))
    factor = Decimal(UNITS.get(unit, 1))
    low, high = (Decimal(text) - half) * factor, (Decimal(text) + half) * factor
    return (low, high) if unit == "%" else (low.to_integral_value(ROUND_CEILING), high.to_integral_value(ROUND_FLOOR))


def test_the_sample_carries_exact_values_inside_every_printing():
    """Every figure the detail carries lies in the interval its printing allows (the contradictions
    excepted), and where a printed rate ties printed operands, the carried operands give that rate."""
    inside = []
    for code, figure in FIGURES.items():
        if not figure.published or figure.spec is None or figure.status == "contradiction":
            continue
        low, high = printing(code)
        assert low <= figures.base(code) <= high, (code, low, figures.base(code), high)
        inside.append(code)
    assert len(inside) > 60
    for code in ("employment_done_rate", "industry_project_funds_paid_rate"):
        figure = FIGURES[code]
        exact = Decimal(figures.base(str(figure.numerator))) / figures.base(figure.denominator[0]) * 100
        low, high = printing(code)
        assert low <= exact < high, (code, exact)


def test_no_consistent_printing_is_documented_as_a_contradiction():
    """A rate is a contradiction only when no exact operands inside their printings give it."""
    for code, figure in FIGURES.items():
        if not figure.is_ratio or not figure.published or len(figure.denominator) != 1:
            continue
        if figure.numerator not in figures.published() or figure.denominator[0] not in figures.published():
            continue
        (num_low, num_high), (den_low, den_high) = printing(str(figure.numerator)), printing(figure.denominator[0])
        low, high = printing(code)
        feasible = 100 * num_low / den_high <= high and 100 * num_high / den_low >= low
        assert feasible == (figure.status not in ("contradiction", "truncated")), code


def test_consistent_rates_agree_with_their_parts_at_the_printed_precision():
    for code, figure in FIGURES.items():
        if not figure.is_ratio or figure.status != "reproduced":
            continue
        numerator = reference(str(figure.numerator))
        denominator = sum(reference(part) for part in figure.denominator)
        decimals = figures.published()[code].decimals
        assert figures.rate(numerator, denominator, decimals, figure.percent) == printed(code), code
    share = FIGURES["linkage_funds_to_industry_share_min"]
    assert share.status == "bound" and share.compare == "gt"


def test_parts_add_up_to_their_wholes():
    base = figures.base
    kinds = ("planting", "breeding", "processing", "tourism", "other")
    assert sum(base(f"industry_projects_{k}") for k in kinds) == base("industry_projects")
    assert base("linkage_projects_in_progress") + base("linkage_projects_completed") == base("linkage_projects_started")
    for measure in ("households", "persons", "cleared_households", "cleared_persons"):
        parts = [base(f"{category}_{measure}") for category in ("unstable", "marginal", "hardship")]
        whole = "monitored_" + measure if measure in ("households", "persons") else measure
        assert sum(parts) == base(whole), measure


def test_generator_targets_at_scale_1_are_the_published_figures():
    """What each generator calibrates on is the published value (or the documented carried value)."""
    covered = set()
    for feed in FEEDS:
        if feed == "microcredit":  # calibrated on the league table: tests/unit/test_samples.py
            continue
        for code, target in GENERATORS[feed].targets(1.0).items():
            if code.startswith("_") or not FIGURES[code].published:
                continue
            assert target == figures.base(code), code
            covered.add(code)
    carried = {code for code, f in FIGURES.items() if f.spec is not None and f.published and f.feed != "microcredit"}
    assert carried <= covered, carried - covered


def _months(feed: str) -> list[int]:
    mine = [f for f in FIGURES.values() if f.feed == feed]
    if any(f.months == "ytd" for f in mine):
        return list(range(1, 13))
    return sorted({12, *(f.reached_in for f in mine if f.reached_in)})


def _expected(feed: str, code: str) -> Decimal:
    figure = FIGURES[code]
    if SCALE == 1.0:
        if figure.carried is not None:
            return figure.carried
        return printed(code) if figure.is_ratio else Decimal(reference(code))
    return Decimal(GENERATORS[feed].targets(SCALE)[code])


@pytest.mark.parametrize("feed", FEEDS)
def test_published_figures_are_reproduced_from_the_files(feed, tmp_path: Path):
    months = _months(feed)
    GENERATORS[feed].generate(tmp_path, months=months, scale=SCALE)
    by_month = readback.from_files(feed, tmp_path, months, KEY)
    shutil.rmtree(tmp_path / feed)  # up to 400 MB a feed at scale 1
    values = figures.evaluate({feed: by_month}, 12)
    mine = [
        code
        for code, f in FIGURES.items()
        if f.feed == feed or (f.is_ratio and all(FIGURES[p].feed == feed for p in (f.numerator, *f.denominator)))
    ]
    assert mine
    for code in mine:
        figure, city = FIGURES[code], Decimal(values[code][config.CITY_CODE])
        if figure.is_ratio and SCALE != 1.0:
            continue
        if figure.status == "bound":
            assert city > printed(code), code
            continue
        if figure.feed == "microcredit" and SCALE != 1.0:
            continue
        assert city == _expected(feed, code), (code, city)
        if figure.status == "contradiction" and not figure.is_ratio:
            assert city != printed(code) * figures.factor(figures.published()[code].unit), code
        if figure.reached_in:
            earlier = figures.evaluate({feed: by_month}, figure.reached_in)[code][config.CITY_CODE]
            assert Decimal(earlier) == city, f"{code} is not reached in month {figure.reached_in}"
