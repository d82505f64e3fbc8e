"""The indicator report declares what the detail feeds compute, and in December the review as printed.

At scale 0.01 every feed's files for January–March and December are read back through the parser,
the figures computed per figures.yml, and compared with what the indicator report (also read back)
declares: equal for March (every county and the city); for December equal in the county rows, and
the city rows carry the printed value where the figure contradicts the others or no feed carries it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from include import config
from include.ingest.contract import contracts
from include.ingest.load import discover, parse_delivery
from samples import GENERATORS, figures, indicator_report
from tests import readback

SCALE = 0.01
MONTHS = (1, 2, 3, 12)
KEY = b"test-key-for-the-indicator-report"
FIGURE_FEEDS = sorted({str(f.feed) for f in figures.load().values() if f.feed})


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("landing")
    for module in GENERATORS.values():
        module.generate(folder, months=range(1, 13), scale=SCALE)
    return folder


@pytest.fixture(scope="module")
def computed(landing: Path) -> dict[int, dict[str, dict[str, object]]]:
    by_feed = {feed: readback.from_files(feed, landing, range(1, 13), KEY) for feed in FIGURE_FEEDS}
    return {month: figures.evaluate(by_feed, month) for month in MONTHS}


def declared(landing: Path, month: int) -> dict[tuple[str, str], tuple[str, str]]:
    """(county code, indicator code) -> (value, unit) as the report's file says, read back."""
    contract = contracts()["indicator_report"]
    (delivery,) = discover(contract, dt.date(config.YEAR, month, 1), landing)
    parsed, findings, _ = parse_delivery(contract, delivery, KEY)
    assert not [f for f in findings if f.severity == "error"]
    names = ["county", "indicator_code", "value", "unit"]
    rows = readback.canonical(contract.section("detail"), parsed["detail"].records, names)
    return {(county, code): (str(value), unit) for county, code, value, unit in rows}


def as_published_unit(code: str, value: object) -> Decimal:
    figure = figures.load()[code]
    if figure.is_ratio:
        return Decimal(str(value))
    return Decimal(str(value)) / figures.factor(figures.published()[code].unit)


@pytest.mark.parametrize("month", [1, 2, 3])
def test_months_before_december_declare_what_the_detail_computes(landing, computed, month):
    report = declared(landing, month)
    checked = 0
    for code, by_county in computed[month].items():
        figure = figures.load()[code]
        if not figure.published or figure.status == "bound":
            continue
        for county, value in by_county.items():
            declared_value, unit = report[(county, code)]
            assert unit == figures.published()[code].unit
            assert Decimal(declared_value) == as_published_unit(code, value), (month, county, code)
            checked += 1
    assert checked > 400


def test_december_declares_the_printed_contradictions_and_the_computed_county_rows(landing, computed):
    report = declared(landing, 12)
    for code, figure in figures.load().items():
        if not figure.published:
            continue
        printed = figures.published()[code]
        if figure.status in ("contradiction", "truncated", "not_carried", "bound"):
            assert report[(config.CITY_CODE, code)] == (str(Decimal(printed.value)), printed.unit), code
        else:
            expected = as_published_unit(code, computed[12][code][config.CITY_CODE])
            assert Decimal(report[(config.CITY_CODE, code)][0]) == expected, code
        if figure.is_carried and figure.status != "bound":
            for county, value in computed[12][code].items():
                if county != config.CITY_CODE:
                    assert Decimal(report[(county, code)][0]) == as_published_unit(code, value), (county, code)


def test_at_scale_1_december_declares_every_published_figure_as_printed(monkeypatch):
    """The city rows of December carry the review's figures exactly as printed (56586, 57.03%, 48612 …)."""
    monkeypatch.setattr(indicator_report, "_values", lambda month, scale: {})
    rows = {code: value for county, code, value, _ in indicator_report.rows(12, 1.0) if county == config.CITY_CODE}
    assert rows == {code: p.value for code, p in figures.published().items()}
    assert (rows["hardship_cleared_persons"], rows["cleared_household_share"]) == ("56586", "57.03")
    assert (rows["microcredit_new_households"], rows["microcredit_balance_household_rate"]) == ("48612", "22.14")
