"""Shared parts of the sample-feed generators: IDs, counties, workbooks and CSV files, exact apportioning."""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from include import config

FIXED_STAMP = (2021, 1, 1, 0, 0, 0)
CST = dt.timezone(dt.timedelta(hours=8))
# GB 11643: the weights of an ID's first 17 digits, and the check character by weighted sum mod 11. The
# samples' own copy: the ingest's ID check must be able to catch the generator getting it wrong.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def resident_id(rng: random.Random, region: str, taken: set[str]) -> str:
    """A valid, unique 18-character ID registered in ``region`` (six digits)."""
    while True:
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 50))
        first17 = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
        value = first17 + _CHECK[_weighted(first17) % 11]
        if value not in taken:
            taken.add(value)
            return value


_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"


def cell(ref: str, value: object) -> str:
    """A worksheet cell at ``ref`` (A1): a number, an inline string, or nothing for None and ""."""
    if value is None or value == "":
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def _sheet_xml(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    letters = [column_letter(i + 1) for i in range(max(len(header), 1) + 8)]
    yield f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS}><sheetData>'
    head: list[Sequence[object]] = [[title], list(header)]
    for number, row in enumerate(head, start=1):
        yield f'<row r="{number}">' + "".join(cell(f"{letters[i]}{number}", v) for i, v in enumerate(row)) + "</row>"
    for number, row in enumerate(rows, start=3):
        yield f'<row r="{number}">' + "".join(cell(f"{letters[i]}{number}", v) for i, v in enumerate(row)) + "</row>"
    yield "</sheetData>"
    if len(header) > 1:
        yield f'<mergeCells count="1"><mergeCell ref="A1:{letters[len(header) - 1]}1"/></mergeCells>'
    yield "</worksheet>"


def write_xlsx(
    path: Path,
    sheets: Sequence[tuple[str, str, Sequence[str], Iterable[Sequence[object]]]],
    *,
    compress: bool = False,
) -> None:
    """Write sheets of (name, merged title, header, rows) the way department templates look.

    A minimal SpreadsheetML writer with inline strings: about 10x openpyxl, and
    byte-for-byte deterministic (fixed timestamps), so a regenerated month has
    the same content hash. ``compress`` deflates the worksheets too (by default
    they are stored, as the microcredit sample always has been).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in package_parts([name for name, *_ in sheets]).items():
            archive.writestr(zipfile.ZipInfo(name, date_time=FIXED_STAMP), text, zipfile.ZIP_DEFLATED)
        for i, (_, title, header, rows) in enumerate(sheets, start=1):
            info = zipfile.ZipInfo(f"xl/worksheets/sheet{i}.xml", date_time=FIXED_STAMP)
            if compress:
                info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as handle:
                for chunk in _sheet_xml(title, header, rows):
                    handle.write(chunk.encode("utf-8"))


def package_parts(names: Sequence[str]) -> dict[str, str]:
    """The parts of a workbook of sheets ``names`` but the worksheets (``xl/worksheets/sheet<n>.xml``)."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(names) + 1)
    )
    return {
        "[Content_Types].xml": f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_PKG}/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f"{overrides}</Types>",
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} xmlns:r="{_REL}"><sheets>'
        + "".join(f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, 1))
        + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships '
        f'xmlns="{_PKG}/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(names) + 1)
        )
        + "</Relationships>",
    }


def column_letter(number: int) -> str:
    """The letters of the ``number``-th column (1: A, 27: AA)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def stamp_received(path: Path, month: dt.date, day: int) -> None:
    """Set the file's arrival time: ``day`` of the month after ``month``, 09:00 Beijing time."""
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=day)
    moment = dt.datetime.combine(following, dt.time(9, 0), tzinfo=CST).timestamp()
    os.utime(path, (moment, moment))


def month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split a whole ``total`` in proportion to ``weights``; the parts add up exactly."""
    scale = sum(weights)
    raw = [total * weight / scale for weight in weights]
    parts = [int(value) for value in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


# ---------------------------------------------------------------------------------------------
# Shared machinery of the department feeds (everything below is used by the generators added
# after microcredit; the functions above keep their behaviour, so microcredit stays byte-identical).
# ---------------------------------------------------------------------------------------------

CITY_NAME = "商丘市"


_SERIAL_SUMS = tuple(8 * (n // 100) + 4 * (n // 10 % 10) + 2 * (n % 10) for n in range(1000))


def _weighted(digits: str) -> int:
    """The GB 11643 weighted sum of an ID's first digits."""
    return sum(int(digit) * weight for digit, weight in zip(digits, _WEIGHTS, strict=False))


@cache
def _region_sum(region: str) -> int:
    return _weighted(region)


@cache
def _stem(region: str, ordinal: int) -> tuple[str, int]:
    """The first 14 digits of an ID (region and birth date) and their GB 11643 weighted sum."""
    born = dt.date.fromordinal(ordinal)
    y, m, d = born.year, born.month, born.day
    weighted = 2 * (y // 1000) + y // 100 % 10 + 6 * (y // 10 % 10) + 3 * (y % 10)
    weighted += 7 * (m // 10) + 9 * (m % 10) + 10 * (d // 10) + 5 * (d % 10)
    return f"{region}{y:04d}{m:02d}{d:02d}", _region_sum(region) + weighted


def person_id(rng: random.Random, region: str, born: dt.date, taken: set[str]) -> str:
    """A valid ID of someone born on ``born`` and registered in ``region``, unique in ``taken`` (added to it).

    The same check digit as ``resident_id``'s, with the weighted sum of region and birth date cached.
    """
    stem, weighted = _stem(region, born.toordinal())
    while True:
        serial = int(rng.random() * 1000)
        value = f"{stem}{serial:03d}{_CHECK[(weighted + _SERIAL_SUMS[serial]) % 11]}"
        if value not in taken:
            taken.add(value)
            return value


def scaled(value: int, scale: float) -> int:
    """A published whole number at ``scale`` (exactly the number at scale 1)."""
    return value if scale == 1.0 else round(value * scale)


@dataclass(frozen=True)
class County:
    code: str
    name: str
    short: str  # the name with its 县/区/市 suffix dropped where a department writes it so


@cache
def _reference() -> tuple[dict[str, str], ...]:
    """The county reference (dbt_project/seeds/ref_counties.csv) in the order of the city's tables."""
    with open(config.REFERENCE_DIR / "ref_counties.csv", encoding="utf-8") as handle:
        return tuple(sorted(csv.DictReader(handle), key=lambda row: int(row["sort_order"])))


@cache
def counties() -> tuple[County, ...]:
    """The ten county-level units in the order of the city's tables (the city row excluded)."""
    return tuple(
        County(row["county_code"], row["county_name"], (row["aliases"].split("|")[0] or row["county_name"]))
        for row in _reference()
        if row["county_code"] != config.CITY_CODE
    )


@cache
def _codes() -> dict[str, str]:
    return {
        name: row["county_code"]
        for row in _reference()
        for name in (row["county_name"], *filter(None, row["aliases"].split("|")))
    }


def county_code(written: str) -> str:
    """The code of a county (or 商丘市) as the samples write it: official name, alias, prefixed with 商丘市,
    or spaced with a full-width space (``county_as_written``, microcredit's ``WRITTEN_AS``)."""
    name = written.replace("\u3000", "")
    return _codes().get(name) or _codes()[name.removeprefix(CITY_NAME)]


def county_as_written(code: str, style: str) -> str:
    """A county name the way a department writes it; every style resolves to the same county.

    ``official`` 睢县, ``prefixed`` 商丘市睢县, ``short`` 睢阳 / 城乡一体化示范区,
    ``spaced`` 睢　县 (a full-width space in two-character names).
    """
    if code == config.CITY_CODE:
        return CITY_NAME
    county = next(c for c in counties() if c.code == code)
    if style == "prefixed":
        return CITY_NAME + county.name
    if style == "short":
        return county.short
    if style == "spaced" and len(county.name) == 2:
        return county.name[0] + "\u3000" + county.name[1]
    return county.name


def arrival_day(feed: str, month: int, deadline_day: int) -> int:
    """The day of the following month a feed's file arrives: mostly before the deadline, a few days late
    about one month in ten (deterministic per feed and month)."""
    rng = random.Random(f"arrival-{feed}-{month}")
    if rng.random() < 0.1:
        return min(28, deadline_day + rng.randint(1, 6))
    return rng.randint(max(1, deadline_day - 6), deadline_day)


def wan(value: int | Decimal) -> Decimal:
    """A value in 元 (or 千瓦时) written in 万元 (万千瓦时), exactly, in plain notation."""
    return Decimal(plain((Decimal(value) / 10_000).normalize()))


def plain(value: Decimal) -> str:
    """A decimal as plain digits, never in exponent form."""
    return format(value, "f")


def month_text(month: dt.date, style: str) -> str:
    """A report month the way a department writes it: ``iso`` 2021-03, ``cn`` 2021年3月, ``compact`` 202103."""
    if style == "cn":
        return f"{month.year}年{month.month}月"
    if style == "compact":
        return f"{month:%Y%m}"
    return f"{month:%Y-%m}"


def date_text(day: dt.date, style: str) -> str:
    """A date: ``iso`` 2021-03-05, ``slash`` 2021/3/5, ``cn`` 2021年3月5日."""
    if style == "slash":
        return f"{day.year}/{day.month}/{day.day}"
    if style == "cn":
        return f"{day.year}年{day.month}月{day.day}日"
    return day.isoformat()


def write_csv(path: Path, encoding: str, title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """One CSV sheet as a department exports it: the template's title line, the header, the rows.

    ``encoding`` is ``utf-8``, ``utf-8-sig`` (with BOM) or ``gb18030`` (GBK); lines end in CRLF as Excel writes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([title])
        writer.writerow(header)
        writer.writerows(rows)


def apportion_in(total: int, weights: Sequence[float], quantum: int) -> list[int]:
    """Like ``apportion``, in multiples of ``quantum`` (a payment standard's step, e.g. 25 元); what
    ``total`` has beyond a multiple of the quantum goes to the largest part, so the parts still add up."""
    parts = [part * quantum for part in apportion(total // quantum, weights)]
    if parts:
        parts[max(range(len(parts)), key=parts.__getitem__)] += total % quantum
    return parts
