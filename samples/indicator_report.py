"""Sample indicator report (指标报表): one county × indicator × month a row, the figure as declared.

An .xlsx workbook a month, compiled by the 乡村振兴局 from every department: each published figure
(figures.yml) that a feed carries, for every county and for 商丘市, in the unit the review prints it.
For January to November the values are those the month's detail gives (the 口径 of figures.yml:
snapshots of the month, or January to the month), at full precision, rates at the printed precision.
For December the 商丘市 rows declare the review's figures exactly as printed — the contradictory
ones too (48612, 22.14%, 56586, 57.03% …) and those no feed carries — so that the declared-vs-computed
check has something to catch; the county rows keep the computed values. At a scale other than 1 the
December city rows declare the computed values, except the documented contradictions (as printed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

from include import config
from include.ingest.contract import contracts
from samples import (
    disability_subsidies,
    early_warning,
    education_aid,
    employment,
    figures,
    housing_renovation,
    linkage_projects,
    microcredit,
    monitored_households,
    poverty_assets,
    pv_stations,
    social_assistance,
    student_loans,
    water_projects,
)
from samples.common import counties, county_code
from samples.delivery import Layout, Source, Total
from samples.measures import Cube, Number, measure
from samples.population import microcredit_accounts

FEED = "indicator_report"
DECLARED = (  # the feeds of a Layout whose figures the report declares (and microcredit's)
    social_assistance,
    disability_subsidies,
    employment,
    education_aid,
    student_loans,
    housing_renovation,
    linkage_projects,
    water_projects,
    poverty_assets,
    pv_stations,
    monitored_households,
    early_warning,
)
SOURCES = {module.FEED: module.SOURCE for module in DECLARED}

LAYOUT = Layout(
    feed=FEED,
    stem="巩固衔接指标报表",
    totals=(
        Total("indicators", measure("count")),
        Total("departments", measure("count_distinct", "department")),
    ),
    month_style="cn",
)


@cache
def _microcredit_partials(month: int, scale: float) -> figures.Partials:
    """The microcredit feed's figures of a month, from the rows its generator writes."""
    accounts = microcredit_accounts(scale)
    columns = ["county", "borrower_id", "issue_date", "loan_amount", "balance"]
    detail = Cube(columns, figures.specs("microcredit", "detail"))
    for row in microcredit.snapshot(accounts, month):
        amount, balance = (Decimal(repr(row[i])) * 10_000 for i in (9, 10))
        detail.add((county_code(str(row[0])), row[3], row[7], amount, balance))
    names = ["county", "lifted_households", "monitored_households"]
    totals = Cube(names, figures.specs("microcredit", "control_totals"))
    for row in microcredit.control_totals(accounts, month, scale):
        if row[0] != "商丘市":
            totals.add((county_code(str(row[0])), row[1], row[2]))
    return figures.compact(figures.partials("microcredit", detail, totals))


@cache
def _values(month: int, scale: float) -> dict[str, dict[str, Number]]:
    """Every carried figure at the month's end, by county and for the city."""
    by_feed: dict[str, dict[int, figures.Partials]] = {feed: {} for feed in (*SOURCES, "microcredit")}
    for m in range(1, month + 1):
        for feed, source in SOURCES.items():
            by_feed[feed][m] = source.partials(m, scale)
        by_feed["microcredit"][m] = _microcredit_partials(m, scale)
    return figures.evaluate(by_feed, month)


def _department(figure: figures.Figure) -> str:
    if figure.department_zh:
        return figure.department_zh
    feed = figure.feed or figures.load()[str(figure.numerator)].feed
    return contracts()[str(feed)].department_zh


def _shown(code: str, value: Number) -> str:
    """A computed value in the published unit, exactly (rates as computed, at the printed precision)."""
    unit = figures.unit_of(code)
    if unit == "%" or figures.load()[code].is_ratio:
        return figures.plain_number(Decimal(value))
    return figures.plain_number(Decimal(value) / figures.factor(unit))


def rows(month: int, scale: float = 1.0) -> list[tuple[str, str, str, str]]:
    """(county code, indicator code, value as declared, as of) of the month."""
    values = _values(month, scale)
    end = f"{config.YEAR}-{month:02d}"
    found: list[tuple[str, str, str, str]] = []
    for code, figure in figures.load().items():
        if not figure.published:
            continue
        printed = figures.published()[code]
        computed = values.get(code)
        if computed is not None and figure.status != "bound":
            for county in counties():
                if county.code in computed:
                    found.append((county.code, code, _shown(code, computed[county.code]), end))
        if month == 12 and (
            scale == 1.0 or computed is None or figure.status in ("contradiction", "truncated", "bound")
        ):
            found.append((config.CITY_CODE, code, printed.value, printed.as_of))
        elif computed is not None and figure.status != "bound" and config.CITY_CODE in computed:
            found.append((config.CITY_CODE, code, _shown(code, computed[config.CITY_CODE]), end))
    return found


def records(month: int, scale: float = 1.0) -> Iterator[tuple[Any, ...]]:
    """The month's declared indicators: county rows, then the city rows, indicator by indicator."""
    report = dt.date(config.YEAR, month, 1).isoformat()
    order = {c.code: i for i, c in enumerate(counties())} | {config.CITY_CODE: len(counties())}
    for county, code, value, as_of in sorted(rows(month, scale), key=lambda r: order[r[0]]):
        figure, printed = figures.load()[code], figures.published()[code]
        yield (county, _department(figure), code, printed.name_zh, value, printed.unit, as_of, report)


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
