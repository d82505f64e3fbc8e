"""The published 2021 figures and their 口径 (``figures.yml``), and how to compute them from feed records.

``load()`` reads the definitions, ``published()`` the printed values (the project's own copy in
``dbt_project/seeds``). ``partials`` aggregates one month of one feed (detail and 汇总 records in
canonical form) and ``evaluate`` combines months into each figure by county and for the city, rates
included. The generators use it on their own records for the monthly indicator report; the tests use
it on records read back through the ingestion parser (``tests/readback.py``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from include import config
from samples.common import scaled
from samples.measures import Cube, Number, Spec, conditions, total, value

FIGURES_FILE = Path(__file__).with_name("figures.yml")
STATUSES = ("reproduced", "contradiction", "truncated", "bound", "not_carried")
CITY = config.CITY_CODE
Partials = dict[str, dict[str, Any]]  # figure code -> county code -> number, or set for count_distinct


@dataclass(frozen=True)
class Published:
    code: str
    name_zh: str
    value: str  # as printed
    unit: str
    as_of: str

    @property
    def decimals(self) -> int:
        return len(self.value.partition(".")[2])


@dataclass(frozen=True)
class Figure:
    """One figure's 口径: what carries it and how it is computed, or why nothing does."""

    code: str
    status: str
    published: bool
    feed: str | None
    sheet: str  # 'detail' or 'control_totals'
    spec: Spec | None  # None for ratios and figures no feed carries
    months: str  # 'report' or 'ytd'
    numerator: str | None
    denominator: tuple[str, ...]
    percent: bool
    compare: str | None
    as_of: str | None
    reached_in: int | None
    carried: Decimal | None
    unit: str | None  # only for helpers; published figures take the published unit
    definition: str
    reason: str
    department_zh: str | None

    @property
    def is_ratio(self) -> bool:
        return self.numerator is not None

    @property
    def is_carried(self) -> bool:
        return self.status != "not_carried"


def _figure(code: str, spec: Mapping[str, Any]) -> Figure:
    status = spec.get("status", "reproduced")
    if status not in STATUSES:
        raise ValueError(f"figure {code}: unknown status {status!r}")
    aggregation = spec.get("aggregation")
    denominator = spec.get("denominator")
    return Figure(
        code=code,
        status=status,
        published=bool(spec.get("published", True)),
        feed=spec.get("feed"),
        sheet=spec.get("sheet", "detail"),
        spec=Spec(str(aggregation), spec.get("column"), conditions(spec.get("filter")))
        if aggregation not in (None, "ratio")
        else None,
        months=spec.get("months", "report"),
        numerator=spec.get("numerator"),
        denominator=tuple(denominator) if isinstance(denominator, list) else ((denominator,) if denominator else ()),
        percent=bool(spec.get("percent", True)),
        compare=spec.get("compare"),
        as_of=str(spec["as_of"]) if "as_of" in spec else None,
        reached_in=spec.get("reached_in"),
        carried=Decimal(str(spec["carried"])) if "carried" in spec else None,
        unit=spec.get("unit"),
        definition=" ".join(str(spec.get("definition", "")).split()),
        reason=" ".join(str(spec.get("reason", "")).split()),
        department_zh=spec.get("department_zh"),
    )


@cache
def _document() -> dict[str, Any]:
    return yaml.safe_load(FIGURES_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def load() -> dict[str, Figure]:
    """Every figure of figures.yml (published ones and helpers), by code, in file order."""
    return {code: _figure(code, spec) for code, spec in _document()["figures"].items()}


@cache
def published() -> dict[str, Published]:
    """The printed figures of the city's 2021 review, by code (the seeds' copy)."""
    with open(config.REFERENCE_DIR / "ref_published_2021_figures.csv", encoding="utf-8") as handle:
        return {
            row["indicator_code"]: Published(
                row["indicator_code"], row["name_zh"], row["value"], row["unit"], row["as_of"]
            )
            for row in csv.DictReader(handle)
        }


@cache
def factor(unit: str) -> Decimal:
    """How many base units (persons, 元, 千瓦时 …) one unit is (published or in a feed); rates have none."""
    found = _document()["units"][unit]
    if found == "percent":
        raise ValueError(f"{unit} is a rate, not a measured unit")
    return Decimal(found)


def unit_of(code: str) -> str:
    figure = load()[code]
    return figure.unit if figure.unit else published()[code].unit


def at_scale(codes: Iterable[str], scale: float) -> dict[str, int]:
    """What the detail carries for each figure of ``codes`` at ``scale`` (``base``, scaled), by figure code."""
    return {code: scaled(base(code), scale) for code in codes}


def base(code: str) -> int:
    """What the detail carries for a figure at scale 1, in base units: the published value converted,
    or for a documented contradiction the value that agrees with the other figures."""
    figure = load()[code]
    if figure.carried is not None:
        return int(figure.carried)
    amount = Decimal(published()[code].value) * factor(unit_of(code))
    if amount != amount.to_integral_value():
        raise ValueError(f"{code}: {amount} is not a whole number of base units")
    return int(amount)


def of_feed(feed: str) -> list[Figure]:
    """The figures a feed carries directly (not ratios)."""
    return [f for f in load().values() if f.feed == feed and f.spec is not None]


def specs(feed: str, sheet: str) -> list[Spec]:
    return [f.spec for f in of_feed(feed) if f.sheet == sheet and f.spec is not None]


def partials(feed: str, detail: Cube, totals: Cube | None) -> Partials:
    """One month of a feed: each of its figures by county (sets for distinct counts, to combine months)."""
    found: Partials = {}
    for figure in of_feed(feed):
        cube = detail if figure.sheet == "detail" else totals
        if cube is not None and figure.spec is not None:
            found[figure.code] = cube.partial(figure.spec)
    return found


def _combine(figure: Figure, by_month: Mapping[int, Partials], month: int) -> dict[str, Number]:
    if figure.months == "ytd":
        merged: dict[str, Any] = {}
        for m in range(1, month + 1):
            for county, part in by_month[m][figure.code].items():
                if isinstance(part, set):
                    merged.setdefault(county, set()).update(part)
                else:
                    merged[county] = merged.get(county, 0) + part
    else:
        merged = by_month[month][figure.code]
    result = {county: value(merged, county) for county in merged if county != CITY}
    result[CITY] = value(merged, CITY) if CITY in merged else total(merged)
    return result


def compact(found: Partials) -> Partials:
    """A month's partials to keep: distinct sets of report-month figures become their sizes (with the
    city's own), since such figures never merge months; ytd sets stay sets."""
    result: Partials = {}
    for code, part in found.items():
        if load()[code].months == "report" and any(isinstance(v, set) for v in part.values()):
            result[code] = {county: len(v) for county, v in part.items()} | {CITY: total(part)}
        else:
            result[code] = part
    return result


def plain_number(number: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 27.0100 -> '27.01', 1E+2 -> '100'."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def rate(numerator: Number, denominator: Number, decimals: int, percent: bool = True) -> Decimal | None:
    """numerator / denominator (× 100 for a percent) at ``decimals`` places, half up; None for 0 / 0."""
    if not denominator:
        return None
    ratio = Decimal(numerator) / Decimal(denominator) * (100 if percent else 1)
    return ratio.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def evaluate(by_feed: Mapping[str, Mapping[int, Partials]], month: int) -> dict[str, dict[str, Number]]:
    """Every carried figure whose feed is in ``by_feed`` (feed -> month -> partials), by county and city."""
    values: dict[str, dict[str, Number]] = {}
    for figure in load().values():
        feed = str(figure.feed)
        if figure.spec is not None and feed in by_feed and month in by_feed[feed]:
            values[figure.code] = _combine(figure, by_feed[feed], month)
    for figure in load().values():
        parts = [figure.numerator, *figure.denominator] if figure.is_ratio else []
        if not parts or not all(part in values for part in parts):
            continue
        decimals = published()[figure.code].decimals if figure.published else 2
        numerator = values[str(figure.numerator)]
        ratios: dict[str, Number] = {}
        for county in numerator:
            den = sum((values[d].get(county, 0) for d in figure.denominator), 0)
            found = rate(numerator[county], den, decimals, figure.percent)
            if found is not None:
                ratios[county] = found
        values[figure.code] = ratios
    return values
