"""The sample files read back as the ingestion parser reads them, for the tests that check the generators.

``from_files`` computes a feed's monthly figures from its delivered files, through
``include.ingest.load.parse_delivery`` alone: nothing of the generator is reused, so a generator that
writes a wrong file is caught. ``canonical`` turns parsed raw records into the canonical tuples that
``samples.figures`` aggregates. Test code: the samples package itself never reads the parser.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from include import config
from include.ingest.contract import Section, contracts
from include.ingest.load import discover, parse_delivery
from samples.figures import CITY, Partials, compact, factor, partials, specs
from samples.measures import Cube


def canonical(
    section: Section, records: Iterable[Sequence[str | None]], columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Parsed raw records (``include.ingest.sheet``) as canonical tuples of ``columns``: county codes,
    ID keys, measured values in base units (Decimal), counts as int, other numbers as Decimal."""
    offsets: dict[str, int] = {}
    position = 0
    for column in section.columns:
        offsets[column.name] = position
        position += len(column.raw_columns())
    kinds = {column.name: column.type for column in section.columns}
    getters = [_getter(kinds[name], offsets[name]) for name in columns]
    return [tuple(get(record) for get in getters) for record in records]


def _getter(kind: str, at: int) -> Any:
    if kind in ("amount", "quantity"):
        return lambda r: Decimal(r[at] or 0) * factor(r[at + 1] or "元")
    if kind in ("count", "rank"):
        return lambda r: int(r[at]) if r[at] else 0
    if kind in ("number", "rate"):
        return lambda r: Decimal(r[at]) if r[at] else Decimal(0)
    return lambda r: r[at]


def from_files(feed: str, landing: Path, months: Iterable[int], key: bytes) -> dict[int, Partials]:
    """Each month's figures of a feed, computed from its delivered files read back through the
    ingestion parser (``include.ingest.load.parse_delivery``): nothing of the generator is used.

    Raises ``ValueError`` when a month has no single delivery or the parser reports an error.
    """
    contract = contracts()[feed]
    found: dict[int, Partials] = {}
    for month in months:
        deliveries = discover(contract, dt.date(config.YEAR, month, 1), landing)
        if len(deliveries) != 1:
            raise ValueError(f"{feed} {month:02d}: expected one delivery, found {len(deliveries)}")
        parsed, findings, _ = parse_delivery(contract, deliveries[0], key)
        errors = [f.message() for f in findings if f.severity == "error"]
        if errors:
            raise ValueError(f"{feed} {month:02d}: {len(errors)} error findings, first: {errors[0]}")
        cubes: dict[str, Cube] = {}
        for role in ("detail", "control_totals"):
            section = contract.section(role)
            wanted = specs(feed, role)
            columns = list(
                dict.fromkeys(
                    ["county", *(c.column for s in wanted for c in s.where), *(s.column for s in wanted if s.column)]
                )
            )
            rows = canonical(section, parsed[role].records, columns)
            if role == "control_totals":
                rows = [row for row in rows if row[0] != CITY]
            cubes[role] = Cube(columns, wanted).add_all(rows)
        found[month] = compact(partials(feed, cubes["detail"], cubes["control_totals"]))
    return found
