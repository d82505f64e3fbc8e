"""Aggregations over feed records: the filters and measures of 汇总 sheets and published figures.

A ``Spec`` says what to aggregate (count rows, count distinct values, or sum a column) over the
rows a filter keeps. A ``Cube`` reads a month of records once and can then answer any number of
specs by county and for the whole city, so a 汇总 sheet and the figures of a feed cost one pass.
The generators feed it their own canonical records; the tests feed it records read back through
the ingestion parser, so both sides aggregate the same way.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

AGGREGATIONS = ("count", "count_distinct", "sum")
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "ge": operator.ge,
    "gt": operator.gt,
    "le": operator.le,
    "lt": operator.lt,
}
Number = int | Decimal


@dataclass(frozen=True)
class Condition:
    """Keep a row when ``column`` is one of ``values`` (op ``in``), none of them (``not_in``),
    or compares to ``values[0]`` (``ge``, ``gt``, ``le``, ``lt``: ISO dates compare as text)."""

    column: str
    op: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Spec:
    """One aggregation: ``count`` rows, ``count_distinct`` values of ``column``, or ``sum`` of ``column``."""

    aggregation: str
    column: str | None = None
    where: tuple[Condition, ...] = ()


def conditions(spec: Mapping[str, Any] | None) -> tuple[Condition, ...]:
    """Filters written as data: ``{column: value}``, ``{column: [values]}``, ``{column: {op: value}}``."""
    found: list[Condition] = []
    for column, wanted in (spec or {}).items():
        if isinstance(wanted, Mapping):
            for op, value in wanted.items():
                if op not in (*COMPARISONS, "in", "not_in"):
                    raise ValueError(f"filter on {column}: unknown operator {op!r}")
                values = tuple(value) if isinstance(value, list) else (value,)
                found.append(Condition(column, op, values))
        elif isinstance(wanted, list):
            found.append(Condition(column, "in", tuple(wanted)))
        else:
            found.append(Condition(column, "in", (wanted,)))
    return tuple(found)


def measure(aggregation: str, column: str | None = None, **where: Any) -> Spec:
    """A spec written inline: ``measure("sum", "amount", assistance_type="农村低保")``."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {aggregation!r}")
    return Spec(aggregation, column, conditions(where))


class _Cell:
    __slots__ = ("count", "sets", "sums")

    def __init__(self, sums: int, sets: int) -> None:
        self.count = 0
        self.sums: list[Number] = [0] * sums
        self.sets: list[set[object]] = [set() for _ in range(sets)]


class Cube:
    """Records grouped by county and by every column and comparison the specs filter on."""

    def __init__(self, columns: Sequence[str], specs: Iterable[Spec], county: str = "county") -> None:
        self.columns = {name: i for i, name in enumerate(columns)}
        self.specs = tuple(dict.fromkeys(specs))
        where = [c for s in self.specs for c in s.where]
        self._dims = list(dict.fromkeys(c.column for c in where if c.op in ("in", "not_in")))
        self._tests = list(dict.fromkeys(c for c in where if c.op in COMPARISONS))
        summed = [s.column for s in self.specs if s.aggregation == "sum" and s.column]
        counted = [s.column for s in self.specs if s.aggregation == "count_distinct" and s.column]
        self._sums = list(dict.fromkeys(summed))
        self._sets = list(dict.fromkeys(counted))
        self._county = self.columns[county]
        self._dim_at = [self.columns[name] for name in self._dims]
        self._test_at = [(self.columns[c.column], COMPARISONS[c.op], c.values[0]) for c in self._tests]
        self._sum_at = list(enumerate(self.columns[name] for name in self._sums))
        self._set_at = list(enumerate(self.columns[name] for name in self._sets))
        self.cells: dict[tuple[object, ...], _Cell] = {}

    def add(self, record: Sequence[Any]) -> None:
        """Count one record into its cell."""
        key = (
            record[self._county],
            *[record[i] for i in self._dim_at],
            *[compare(record[i], value) for i, compare, value in self._test_at],
        )
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = _Cell(len(self._sums), len(self._sets))
        cell.count += 1
        for slot, i in self._sum_at:
            cell.sums[slot] += record[i]
        for slot, i in self._set_at:
            cell.sets[slot].add(record[i])

    def add_all(self, records: Iterable[Sequence[Any]]) -> Cube:
        for record in records:
            self.add(record)
        return self

    def _keeps(self, spec: Spec, key: tuple[object, ...]) -> bool:
        for condition in spec.where:
            if condition.op in COMPARISONS:
                if not key[1 + len(self._dims) + self._tests.index(condition)]:
                    return False
                continue
            value = key[1 + self._dims.index(condition.column)]
            if (value in condition.values) != (condition.op == "in"):
                return False
        return True

    def partial(self, spec: Spec) -> dict[str, Number | set[object]]:
        """The spec by county code: a number, or for ``count_distinct`` the set of distinct values."""
        found: dict[str, Any] = {}
        for key, cell in self.cells.items():
            if not self._keeps(spec, key):
                continue
            county = str(key[0])
            if spec.aggregation == "count_distinct":
                found.setdefault(county, set()).update(cell.sets[self._sets.index(str(spec.column))])
            elif spec.aggregation == "sum":
                found[county] = found.get(county, 0) + cell.sums[self._sums.index(str(spec.column))]
            else:
                found[county] = found.get(county, 0) + cell.count
        return found


def total(partial: Mapping[str, Number | set[object]]) -> Number:
    """The city value of a partial: the sum, or the number of distinct values across counties."""
    values = list(partial.values())
    if values and isinstance(values[0], set):
        return len(set().union(*values))  # type: ignore[arg-type]
    return sum(values, 0)  # type: ignore[arg-type]


def value(partial: Mapping[str, Number | set[object]], county: str) -> Number:
    """One county's value of a partial (0 when the county has no rows)."""
    found = partial.get(county, 0)
    return len(found) if isinstance(found, set) else found
