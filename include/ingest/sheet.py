"""Turn one sheet's rows into canonical raw records, with a finding for every problem.

Handles: merged title rows above the header, repeated header blocks in mid-sheet,
unknown / duplicated / missing headers, county-name variants, percent strings,
thousands separators, dashes for zero, units in 元 / 万元 / 亿元, and resident IDs
(validated, then replaced by their keyed hash before anything is stored).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from include.ingest import counties, ids, values
from include.ingest.contract import NUMERIC_TYPES, Column, Section

HEADER_SCAN_ROWS = 20


@dataclass(frozen=True)
class Finding:
    """One problem in a file: where it is, what was expected and what was found."""

    rule: str
    severity: str  # 'error' rejects the file or row, 'warn' loads with a flag, 'info' notes
    sheet: str | None
    row: int | None  # 1-based, as the spreadsheet shows it
    column: str | None  # the header as printed
    expected: str
    found: str

    def message(self) -> str:
        where = ", ".join(
            part
            for part in (
                f"sheet {self.sheet}" if self.sheet else "",
                f"row {self.row}" if self.row else "",
                f"column {self.column}" if self.column else "",
            )
            if part
        )
        return f"{where or 'file'}: expected {self.expected}, found {self.found}"


@dataclass
class ParsedSheet:
    records: list[list[str | None]]
    findings: list[Finding]
    months: set[str]  # months named inside the sheet (title or month column)
    header_row: int | None


def header_key(text: str) -> str:
    """Headers compare after NFKC folding, without spaces and with ASCII parentheses."""
    folded = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", folded).replace("（", "(").replace("）", ")")


_TITLE_MONTH = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月")


def _alias_index(section: Section) -> dict[str, tuple[Column, str | None]]:
    return {header_key(alias): (column, unit) for column in section.columns for alias, unit in column.aliases.items()}


def _find_header(rows: list[list[str]], section: Section) -> int | None:
    index = _alias_index(section)
    required = sum(1 for column in section.columns if column.required)
    best, best_hits = None, 0
    for number, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        hits = len({index[header_key(cell)][0].name for cell in row if header_key(cell) in index})
        if hits > best_hits:
            best, best_hits = number, hits
    return best if best is not None and best_hits >= max(1, required // 2) else None


def _convert(column: Column, unit: str | None, text: str, key: bytes) -> list[str | None]:
    """The raw-table values for one cell; raises ValueError(expected) when it does not parse."""
    kind = column.type
    if kind == "county":
        code = counties.resolve(text)
        if code is None:
            raise ValueError("a county of 商丘市 (梁园区 … 永城市, 示范区, 商丘市)")
        return [code, text]
    if kind == "resident_id":
        problem = ids.validate(text)
        if problem:
            raise ValueError(f"a valid resident ID ({problem})")
        pseudonym = ids.pseudonymise(text, key)
        return [pseudonym.key, str(pseudonym.birth_year), pseudonym.sex, pseudonym.region]
    if kind in ("amount", "quantity"):
        amount, amount_unit = values.parse_amount(text, unit, kind)
        return [amount, amount_unit]
    if kind == "enum":
        return [values.parse_enum(text, column.values)]
    parser = {
        "count": values.parse_count,
        "number": values.parse_number,
        "rate": values.parse_rate,
        "rank": values.parse_rank,
        "date": values.parse_date,
        "month": values.parse_month,
    }.get(kind)
    return [parser(text) if parser else (text or None)]


def _shown(column: Column, text: str) -> str:
    """What a finding may show of a cell: never a resident ID."""
    if column.type == "resident_id":
        return f"a value of {len(text)} characters (withheld: personal ID)"
    return repr(text) if text else "a blank cell"


def _is_blank(row: list[str]) -> bool:
    return not any(row)


Positions = dict[str, tuple[int, Column, str | None, str]]


def _map_header(section: Section, header: list[str], row: int, findings: list[Finding]) -> Positions:
    """Canonical column -> (position, column, unit, header as printed); unknown and repeated headers are findings."""
    index = _alias_index(section)
    positions: Positions = {}
    seen: dict[str, int] = {}
    for position, cell in enumerate(header):
        key_text = header_key(cell)
        if not key_text:
            continue
        problem = None
        if key_text in seen:
            problem = (
                "duplicate_header",
                "each header once",
                f"a repeat of column {seen[key_text] + 1}; column {position + 1} ignored",
            )
        elif key_text not in index:
            problem = ("unknown_header", "a header listed in the feed contract", f"{cell!r}; column ignored")
        elif index[key_text][0].name in positions:
            problem = (
                "duplicate_header",
                f"one header for {index[key_text][0].name}",
                f"a second one ({cell!r}); column ignored",
            )
        seen.setdefault(key_text, position)
        if problem:
            findings.append(Finding(problem[0], "warn", section.sheet, row, cell, problem[1], problem[2]))
            continue
        column, unit = index[key_text]
        positions[column.name] = (position, column, unit, cell)
    return positions


def parse_sheet(section: Section, raw_rows: list[list[object]], key: bytes) -> ParsedSheet:
    """Parse one sheet against its section of the contract."""
    sheet = section.sheet
    rows = [[values.cell_text(cell) for cell in row] for row in raw_rows]
    findings: list[Finding] = []
    months: set[str] = set()
    header_at = _find_header(rows, section)
    if header_at is None:
        expected = "a header row with " + ", ".join(next(iter(c.aliases)) for c in section.columns if c.required)
        findings.append(Finding("missing_header", "error", sheet, None, None, expected, "no such row in the first 20"))
        return ParsedSheet([], findings, months, None)
    for title in rows[:header_at]:
        for found in _TITLE_MONTH.finditer(" ".join(title)):
            months.add(f"{int(found[1]):04d}-{int(found[2]):02d}-01")

    header = rows[header_at]
    positions = _map_header(section, header, header_at + 1, findings)
    missing = [c for c in section.columns if c.required and c.name not in positions]
    for column in missing:
        findings.append(
            Finding(
                "missing_column",
                "error",
                sheet,
                header_at + 1,
                None,
                f"a column {' / '.join(column.aliases)}",
                "no such header",
            )
        )
    if missing:
        return ParsedSheet([], findings, months, header_at + 1)

    header_keys = [header_key(cell) for cell in header]
    records: list[list[str | None]] = []
    for number, row in _data_rows(rows, header_at):
        if [header_key(cell) for cell in row[: len(header_keys)]] == header_keys:
            findings.append(
                Finding(
                    "repeated_header", "info", sheet, number, None, "a data row", "a repeat of the header row; skipped"
                )
            )
            continue
        record, problems = _parse_row(section, positions, row, number, key)
        findings.extend(problems)
        if record is not None:
            records.append([*record, sheet, str(number)])
            month_position = positions.get("report_month")
            if month_position and row[month_position[0]]:
                months.add(record[_raw_offset(section, "report_month")] or "")
    return ParsedSheet(records, findings, months, header_at + 1)


def _data_rows(rows: list[list[str]], header_at: int) -> Iterator[tuple[int, list[str]]]:
    for offset, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not _is_blank(row):
            yield offset, row


def _raw_offset(section: Section, name: str) -> int:
    offset = 0
    for column in section.columns:
        if column.name == name:
            return offset
        offset += len(column.raw_columns())
    raise KeyError(name)


def _parse_row(
    section: Section,
    positions: Positions,
    row: list[str],
    number: int,
    key: bytes,
) -> tuple[list[str | None] | None, list[Finding]]:
    record: list[str | None] = []
    problems: list[Finding] = []
    for column in section.columns:
        width = len(column.raw_columns())
        if column.name not in positions:
            record.extend([None] * width)
            continue
        position, _, unit, printed = positions[column.name]
        text = row[position] if position < len(row) else ""
        if not text and column.required and column.type not in NUMERIC_TYPES:
            problems.append(
                Finding(
                    "required_blank", "error", section.sheet, number, printed, "a value", "a blank cell; row rejected"
                )
            )
            record.extend([None] * width)
            continue
        try:
            record.extend(_convert(column, unit, text, key))
        except ValueError as error:
            problems.append(
                Finding(
                    f"bad_{column.type}",
                    "error",
                    section.sheet,
                    number,
                    printed,
                    str(error),
                    f"{_shown(column, text)}; row rejected",
                )
            )
            record.extend([None] * width)
    return (None if problems else record), problems
