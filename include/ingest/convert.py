"""Convert a whole column of cell texts to canonical raw values at once.

The canonical forms are defined once, by the scalar parsers in ``values``,
``counties`` and ``ids`` (``convert_cell``). A column is converted by applying
them to its distinct texts only (a month of loans has a few thousand distinct
dates, ten counties, two household types) and spreading the results back with
``take``, so every value is exactly what the scalar parser gives. A memo carries
the distinct texts already converted from one block of rows to the next.

Resident IDs, distinct by nature, are validated as a digit matrix and hashed in
one pass (``ids.pseudonymise_many``). Amounts are mostly distinct too: their
plain decimals (``-1,234.50``) are canonicalised with string methods
(``values.fast_plain``), the rest by the Decimal parser. Measured here that is
cheaper than ``pd.to_numeric``, whose floats would still need formatting and
checks to give back the same canonical text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from include.ingest import counties, ids, values
from include.ingest.contract import Column

Cell = tuple[str | None, ...]
Outcome = tuple[Cell | None, str | None]  # the raw values of a text, or None and what was expected of it
Memo = dict[str, Outcome]
MEMO_LIMIT = 200_000  # distinct texts remembered per column across blocks
PLAIN_NUMBER_TYPES = {"number", "count", "amount", "quantity"}


@dataclass(frozen=True)
class Converted:
    """A converted column: one array per raw column, and what was expected where a cell did not convert."""

    values: list[np.ndarray]  # object arrays, None where the cell did not convert
    problem: np.ndarray  # object array: None, or the ``expected`` text of the finding
    failed: np.ndarray  # bool array: the cell did not convert


def cell_converter(column: Column, unit: str | None, key: bytes) -> Callable[[str], Cell]:
    """The scalar conversion of one cell of ``column``: raw-table values, or ValueError(expected).

    A blank cell in an optional column that is not a number (a completion date not yet
    known, an enum left empty) is a null, not an error; blank numbers mean zero.
    """
    convert_one = _cell_converter(column, unit, key)
    if column.required or column.type not in ("enum", "date", "month", "county"):
        return convert_one
    nothing: Cell = (None,) * len(column.raw_columns())
    return lambda text: nothing if text == "" else convert_one(text)


def _cell_converter(column: Column, unit: str | None, key: bytes) -> Callable[[str], Cell]:
    kind = column.type
    if kind == "county":
        return _county
    if kind == "resident_id":
        return lambda text: _resident_id(text, key)
    if kind in ("amount", "quantity"):
        return lambda text: values.parse_amount(text, unit, kind)
    if kind == "enum":
        return lambda text: (values.parse_enum(text, column.values),)
    parser: Callable[[str], str] | None = {
        "count": values.parse_count,
        "number": values.parse_number,
        "rate": values.parse_rate,
        "rank": values.parse_rank,
        "date": values.parse_date,
        "month": values.parse_month,
    }.get(kind)
    if parser is None:
        return lambda text: (text or None,)
    return lambda text: (parser(text),)


def convert_cell(column: Column, unit: str | None, text: str, key: bytes) -> Cell:
    """The raw-table values for one cell; raises ValueError(expected) when it does not parse."""
    return cell_converter(column, unit, key)(text)


def _county(text: str) -> Cell:
    """The county code and the name as written."""
    code = counties.resolve(text)
    if code is None:
        raise ValueError("a county of 商丘市 (梁园区 … 永城市, 示范区, 商丘市)")
    return (code, text)


def _resident_id(text: str, key: bytes) -> Cell:
    """One ID validated and pseudonymised (the scalar reference for ``_resident_ids``)."""
    problem = ids.validate(text)
    if problem:
        raise ValueError(f"a valid resident ID ({problem})")
    pseudonym = ids.pseudonymise(text, key)
    return (pseudonym.key, str(pseudonym.birth_year), pseudonym.sex, pseudonym.region)


def convert(
    column: Column,
    unit: str | None,
    texts: np.ndarray,
    key: bytes,
    memo: Memo | None = None,
    *,
    born_by: dt.date | None = None,
) -> Converted:
    """Convert ``texts`` (an object array of cell texts) as ``convert_cell`` would, cell by cell.

    ``memo`` keeps the conversions of distinct texts from one block of rows to the next
    (for the parsers that cost more than a dictionary lookup: dates, months, counties).
    """
    width = len(column.raw_columns())
    if column.type == "text":
        kept = texts.copy()
        kept[texts == ""] = None
        return Converted([kept], np.full(len(texts), None, dtype=object), np.zeros(len(texts), dtype=bool))
    if column.type == "resident_id":
        return _resident_ids(texts, key, born_by)
    convert_one = cell_converter(column, unit, key)
    if column.type in PLAIN_NUMBER_TYPES:
        return _numbers(column, unit, texts, convert_one)
    return by_distinct(texts, lambda items: [_attempt(convert_one, text) for text in items], width, memo)


def by_distinct(
    texts: np.ndarray, convert_many: Callable[[list[str]], list[Outcome]], width: int, memo: Memo | None = None
) -> Converted:
    """Convert each distinct text once (or take it from ``memo``) and spread the results over the column."""
    codes, distinct = pd.factorize(texts)
    items: list[str] = distinct.tolist()
    outcomes: list[Outcome | None] = [memo.get(text) for text in items] if memo else [None] * len(items)
    todo = [i for i, outcome in enumerate(outcomes) if outcome is None]
    fresh = convert_many([items[i] for i in todo])
    for i, outcome in zip(todo, fresh, strict=True):
        outcomes[i] = outcome
    if memo is not None and len(items) <= len(texts) // 2 and len(memo) < MEMO_LIMIT:
        memo.update((items[i], outcome) for i, outcome in zip(todo, fresh, strict=True))
    done = [outcome for outcome in outcomes if outcome is not None]
    nothing: Cell = (None,) * width
    columns = [_objects(column) for column in zip(*(cells or nothing for cells, _ in done), strict=True)]
    if not columns:
        columns = [np.empty(0, dtype=object) for _ in range(width)]
    problems = _objects([problem for _, problem in done])
    failed = np.array([problem is not None for _, problem in done], dtype=bool)
    return Converted([column.take(codes) for column in columns], problems.take(codes), failed.take(codes))


def _attempt(convert_one: Callable[[str], Cell], text: str) -> Outcome:
    """The raw values of ``text``, or what was expected of it."""
    try:
        return convert_one(text), None
    except ValueError as error:
        return None, str(error)


def _numbers(column: Column, unit: str | None, texts: np.ndarray, convert_one: Callable[[str], Cell]) -> Converted:
    """Numbers: distinct plain decimals through ``values.fast_plain`` in one pass, the rest one by one.

    Same results as the scalar parsers: a plain decimal (``-1,234.50``) is never a
    zero mark nor carries a unit, so its canonical text and the header's unit are the answer.
    """
    kind = column.type
    measured = kind in values.UNITS
    unit_of_header = unit or values.BASE_UNIT.get(kind, "")
    codes, distinct = pd.factorize(texts)
    items: list[str] = distinct.tolist()
    usable = not measured or unit_of_header in values.UNITS[kind]
    plain = [values.fast_plain(text) for text in items] if usable else [None] * len(items)
    if kind == "count":
        plain = [None if p is None or "." in p or p.startswith("-") else p for p in plain]
    number, problem = _objects(plain), np.full(len(items), None, dtype=object)
    failed = np.zeros(len(items), dtype=bool)
    units = np.full(len(items), unit_of_header if measured else None, dtype=object)
    for i in [i for i, value in enumerate(plain) if value is None]:
        cell, problem[i] = _attempt(convert_one, items[i])
        if cell is None:
            failed[i], units[i] = True, None
        else:
            number[i] = cell[0]
            units[i] = cell[1] if measured else None
    columns = [number, units] if measured else [number]
    return Converted([column.take(codes) for column in columns], problem.take(codes), failed.take(codes))


def _objects(items: Sequence[object]) -> np.ndarray:
    """A 1-d object array of ``items`` (never a 2-d array of strings' characters or tuples)."""
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _resident_ids(texts: np.ndarray, key: bytes, born_by: dt.date | None) -> Converted:
    """Validated and pseudonymised IDs: key, birth year, sex, region; what was wrong with the invalid ones."""
    many = ids.pseudonymise_many(texts, key, born_by=born_by)
    problem = np.full(len(texts), None, dtype=object)
    for i in np.flatnonzero(many.invalid).tolist():
        problem[i] = f"a valid resident ID ({many.problem[i]})"
    return Converted([many.key, many.birth_year, many.sex, many.region], problem, many.invalid)
