"""How a department's monthly file looks, and the one writer every sample feed uses.

A ``Layout`` is a department's template: file-name stem, format (.xlsx, or a CSV pair in UTF-8,
UTF-8 with BOM or GB18030), how its 汇总 columns are computed, and how it writes counties, months,
dates and amounts; its sheets, columns, headers and deadline are the feed contract's. A ``Source``
joins a layout to the feed's records (canonical tuples: county codes, ISO dates, amounts in 元) and
writes each month in one pass: every record is printed and counted into a ``Cube`` from which the 汇总
sheet (one row per county plus 商丘市) and the month's figures come, so the control totals always
agree with the detail. The figures are remembered for the indicator report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from include import config
from include.ingest.contract import Column, Contract, contracts
from samples import figures
from samples.common import (
    arrival_day,
    counties,
    county_as_written,
    date_text,
    month_text,
    plain,
    stamp_received,
    wan,
    write_csv,
    write_xlsx,
)
from samples.measures import Cube, Number, Spec, total, value

Record = tuple[Any, ...]
Givens = Mapping[str, Mapping[str, Number]]


@dataclass(frozen=True)
class Col:
    """A printed column: canonical name (the contract's), header as printed, and how values print:
    ``plain``, ``county``, ``wan`` (元 printed in 万元), ``dash`` (zero printed as —), ``date``, ``month``,
    ``rate`` (a percent)."""

    name: str
    header: str
    form: str = "plain"


@dataclass(frozen=True)
class Total:
    """How a 汇总 column is computed: aggregated from the detail (``measure``), given per county (``given``:
    plans and eligible counts the detail cannot carry), or a percent of two other columns (``rate_of``)."""

    name: str
    measure: Spec | None = None
    rate_of: tuple[str, str] | None = None
    given: bool = False


@dataclass(frozen=True)
class Layout:
    """A department's monthly template: file names, format and encoding, what its totals are, writing styles.

    The sheets, their columns (in the contract's order, each headed by its first alias) and the deadline
    are the feed contract's; a record of the feed is a tuple of the detail columns' values.
    """

    feed: str
    stem: str  # file name: <stem>_<yyyy>-<mm>.xlsx, or <stem>_<yyyy>-<mm>_<sheet>.csv
    totals: tuple[Total, ...]  # every 汇总 column of the contract but the county
    name: str | None = None  # the template's title when it is not the contract's name_zh
    form: str = "xlsx"
    encoding: str = "utf-8"
    county_style: str = "official"
    month_style: str = "iso"
    date_style: str = "iso"
    dashes: tuple[str, ...] = ()  # detail columns whose zeros print as —

    @property
    def contract(self) -> Contract:
        return contracts()[self.feed]

    @cached_property
    def detail(self) -> tuple[Col, ...]:
        return self._printed("detail")

    @cached_property
    def totals_printed(self) -> tuple[Col, ...]:
        """The 汇总 columns, the county first."""
        return self._printed("control_totals")

    def _printed(self, role: str) -> tuple[Col, ...]:
        columns = self.contract.section(role).columns
        return tuple(
            Col(c.name, header, self._form(c, role))
            for c, header in zip(columns, headers(self.feed, role), strict=True)
        )

    def _form(self, column: Column, role: str) -> str:
        """How a column prints: by its contract type, or in 万 when its first alias is in 万元 (万千瓦时)."""
        if role == "detail" and column.name in self.dashes:
            return "dash"
        if column.type in ("county", "date", "month", "rate"):
            return column.type
        unit = next(iter(column.aliases.values()))
        return "wan" if unit is not None and unit.startswith("万") else "plain"

    @property
    def deadline_day(self) -> int:
        return self.contract.deadline_day

    @property
    def detail_sheet(self) -> str:
        return self.contract.section("detail").sheet

    @property
    def totals_sheet(self) -> str:
        return self.contract.section("control_totals").sheet

    def title(self, sheet: str, month: dt.date) -> str:
        kind = "明细表" if sheet == self.detail_sheet else "汇总表"
        return f"商丘市{self.name or self.contract.name_zh}{kind}（{month.year}年{month.month}月）"

    def file_names(self, month: int) -> list[str]:
        stem = f"{self.stem}_{config.YEAR}-{month:02d}"
        if self.form == "xlsx":
            return [f"{stem}.xlsx"]
        return [f"{stem}_{self.detail_sheet}.csv", f"{stem}_{self.totals_sheet}.csv"]


def headers(feed: str, role: str) -> tuple[str, ...]:
    """The headers a feed's sheet prints (``detail`` or ``control_totals``): each contract column's first alias."""
    return tuple(next(iter(column.aliases)) for column in contracts()[feed].section(role).columns)


def _county_names(layout: Layout) -> Callable[[Any], Any]:
    names = {c.code: county_as_written(c.code, layout.county_style) for c in counties()}
    names[config.CITY_CODE] = county_as_written(config.CITY_CODE, layout.county_style)
    return names.__getitem__


def _dates(layout: Layout) -> Callable[[Any], Any] | None:
    if layout.date_style == "iso":
        return None
    return _memo(lambda v: date_text(dt.date.fromisoformat(v), layout.date_style))


def _months(layout: Layout) -> Callable[[Any], Any]:
    return _memo(lambda v: month_text(dt.date.fromisoformat(v), layout.month_style))


_FORMATTERS: dict[str, Callable[[Layout], Callable[[Any], Any] | None]] = {
    "plain": lambda layout: None,
    "county": _county_names,
    "wan": lambda layout: wan,
    "dash": lambda layout: lambda v: v if v else "—",
    "date": _dates,
    "month": _months,
    "rate": lambda layout: lambda v: "—" if v is None else f"{v}%",
}


def _formatter(layout: Layout, form: str) -> Callable[[Any], Any] | None:
    """How a column of ``form`` prints in this department's style (None: as it is)."""
    if form not in _FORMATTERS:
        raise ValueError(f"unknown print form {form!r}")
    return _FORMATTERS[form](layout)


def _memo(function: Callable[[str], str]) -> Callable[[str], str]:
    """A formatter that prints each distinct value once (a month's file repeats a handful of dates)."""
    seen: dict[str, str] = {}

    def formatted(value: str) -> str:
        found = seen.get(value)
        if found is None:
            found = seen[value] = function(value)
        return found

    return formatted


def _cell(value: object) -> object:
    """An xlsx cell: Decimals become numbers when a float holds them exactly, as Excel would show them."""
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else plain(value)
    return value


def printer(layout: Layout, forms: Sequence[str]) -> Callable[[Record], list[Any]]:
    """Turn canonical records into printed rows (only the columns that need it are touched).

    CSV cells are written with ``str``: generators keep Decimals in plain notation (no exponent).
    """
    converting = [(i, f) for i, form in enumerate(forms) if (f := _formatter(layout, form)) is not None]
    to_text = layout.form == "csv"

    def convert(record: Record) -> list[Any]:
        row = list(record)
        for i, formatter in converting:
            row[i] = formatter(row[i])
        return row if to_text else [_cell(v) for v in row]

    return convert


def control_totals(layout: Layout, cube: Cube, givens: Givens) -> list[Record]:
    """The 汇总 rows as canonical tuples in the contract's column order (the county as its code), per county
    in table order, then 商丘市."""
    codes = [c.code for c in counties()]
    columns: dict[str, dict[str, Any]] = {}
    for column in layout.totals:
        if column.measure is not None:
            part = cube.partial(column.measure)
            columns[column.name] = {code: value(part, code) for code in codes} | {config.CITY_CODE: total(part)}
        elif column.given:
            given = givens[column.name]
            columns[column.name] = {code: given.get(code, 0) for code in codes}
            columns[column.name][config.CITY_CODE] = sum(columns[column.name].values(), 0)
    for column in layout.totals:
        if column.rate_of is not None:
            num, den = (columns[name] for name in column.rate_of)
            columns[column.name] = {code: figures.rate(num[code], den[code], 2) for code in num}
    printed = layout.totals_printed
    return [
        tuple(code if c.form == "county" else columns[c.name][code] for c in printed)
        for code in [*codes, config.CITY_CODE]
    ]


def _no_givens(month: int, scale: float) -> Givens:
    return {}


_REMEMBERED: dict[tuple[str, float, int], figures.Partials] = {}


def forget() -> None:
    """Drop the figures remembered from the months written so far."""
    _REMEMBERED.clear()


@dataclass(frozen=True)
class Source:
    """A feed's layout and its records: writes the monthly files, and knows each month's figures."""

    layout: Layout
    records: Callable[[int, float], Iterable[Record]]
    givens: Callable[[int, float], Givens] = field(default=_no_givens)

    @property
    def feed(self) -> str:
        return self.layout.feed

    def file_name(self, month: int) -> str:
        """The month's (first) file: ``generate_missing`` checks for it."""
        return self.layout.file_names(month)[0]

    def _cube(self) -> Cube:
        measures = [t.measure for t in self.layout.totals if t.measure is not None]
        return Cube([c.name for c in self.layout.detail], [*measures, *figures.specs(self.feed, "detail")])

    def _remember(self, month: int, scale: float, cube: Cube, totals: list[Record]) -> list[Record]:
        names = [c.name for c in self.layout.totals_printed]
        county_rows = [row for row in totals if row[0] != config.CITY_CODE]
        totals_cube = Cube(names, figures.specs(self.feed, "control_totals")).add_all(county_rows)
        _REMEMBERED[(self.feed, scale, month)] = figures.compact(figures.partials(self.feed, cube, totals_cube))
        return totals

    def partials(self, month: int, scale: float) -> figures.Partials:
        """The month's figures by county (computed from the records when the month was not written here)."""
        key = (self.feed, scale, month)
        if key not in _REMEMBERED:
            cube = self._cube().add_all(self.records(month, scale))
            self._remember(month, scale, cube, control_totals(self.layout, cube, self.givens(month, scale)))
        return _REMEMBERED[key]

    def generate(self, landing: Path, months: Iterable[int] = range(1, 13), scale: float = 1.0) -> list[Path]:
        """Write the months' files into ``landing/<feed>``; returns their paths."""
        written: list[Path] = []
        for month in months:
            written.extend(self._write_month(landing / self.feed, month, scale))
        return written

    def _write_month(self, folder: Path, month: int, scale: float) -> list[Path]:
        layout, first = self.layout, dt.date(config.YEAR, month, 1)
        cube = self._cube()
        detail_print = printer(layout, [c.form for c in layout.detail])
        totals_print = printer(layout, [c.form for c in layout.totals_printed])

        def detail_rows() -> Iterator[list[Any]]:
            for record in self.records(month, scale):
                cube.add(record)
                yield detail_print(record)

        def totals_rows() -> Iterator[list[Any]]:
            rows = control_totals(layout, cube, self.givens(month, scale))
            yield from map(totals_print, self._remember(month, scale, cube, rows))

        detail_header = [c.header for c in layout.detail]
        totals_header = [c.header for c in layout.totals_printed]
        paths = [folder / name for name in layout.file_names(month)]
        if layout.form == "xlsx":
            write_xlsx(
                paths[0],
                [
                    (layout.detail_sheet, layout.title(layout.detail_sheet, first), detail_header, detail_rows()),
                    (layout.totals_sheet, layout.title(layout.totals_sheet, first), totals_header, totals_rows()),
                ],
                compress=True,
            )
        else:
            write_csv(paths[0], layout.encoding, layout.title(layout.detail_sheet, first), detail_header, detail_rows())
            write_csv(paths[1], layout.encoding, layout.title(layout.totals_sheet, first), totals_header, totals_rows())
        day = arrival_day(self.feed, month, layout.deadline_day)
        for path in paths:
            stamp_received(path, first, day)
        return paths
