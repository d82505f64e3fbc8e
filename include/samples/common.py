"""Shared parts of the sample-feed generators: IDs, workbooks, deterministic files."""

from __future__ import annotations

import datetime as dt
import os
import random
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from include.ingest.ids import check_digit

FIXED_STAMP = (2021, 1, 1, 0, 0, 0)
CST = dt.timezone(dt.timedelta(hours=8))


def resident_id(rng: random.Random, region: str, taken: set[str]) -> str:
    """A valid, unique 18-character ID registered in ``region`` (six digits)."""
    while True:
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 50))
        first17 = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
        value = first17 + check_digit(first17)
        if value not in taken:
            taken.add(value)
            return value


_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"


def _cell(ref: str, value: object) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def _sheet_xml(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    letters = [_column_letter(i + 1) for i in range(max(len(header), 1) + 8)]
    yield f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS}><sheetData>'
    head: list[Sequence[object]] = [[title], list(header)]
    for number, row in enumerate(head, start=1):
        yield f'<row r="{number}">' + "".join(_cell(f"{letters[i]}{number}", v) for i, v in enumerate(row)) + "</row>"
    for number, row in enumerate(rows, start=3):
        yield f'<row r="{number}">' + "".join(_cell(f"{letters[i]}{number}", v) for i, v in enumerate(row)) + "</row>"
    yield "</sheetData>"
    if len(header) > 1:
        yield f'<mergeCells count="1"><mergeCell ref="A1:{letters[len(header) - 1]}1"/></mergeCells>'
    yield "</worksheet>"


def write_xlsx(path: Path, sheets: Sequence[tuple[str, str, Sequence[str], Iterable[Sequence[object]]]]) -> None:
    """Write sheets of (name, merged title, header, rows) the way department templates look.

    A minimal SpreadsheetML writer with inline strings: about 10x openpyxl, and
    byte-for-byte deterministic (fixed timestamps), so a regenerated month has
    the same content hash.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [name for name, *_ in sheets]
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(names) + 1)
    )
    parts = {
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
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in parts.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=FIXED_STAMP), text, zipfile.ZIP_DEFLATED)
        for i, (_, title, header, rows) in enumerate(sheets, start=1):
            info = zipfile.ZipInfo(f"xl/worksheets/sheet{i}.xml", date_time=FIXED_STAMP)
            with archive.open(info, "w") as handle:
                for chunk in _sheet_xml(title, header, rows):
                    handle.write(chunk.encode("utf-8"))


def _column_letter(number: int) -> str:
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
