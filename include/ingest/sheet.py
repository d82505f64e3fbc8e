"""Turn one sheet's cells into canonical raw records, with a finding for every problem.

Handles: merged title rows above the header, repeated header blocks in mid-sheet,
unknown / duplicated / missing headers, mislabelled columns (rates under a count's
header: read by their content), county-name variants, percent strings, thousands
separators, dashes for zero, units in 元 / 万元 / 亿元, and resident IDs (validated,
then replaced by their keyed hash before anything is stored).

A sheet is planned first (``plan_sheet``: title rows, header, column mapping),
then its rows are parsed in blocks, each column of a block at once (``convert``),
not cell by cell: every block gives a frame of its accepted rows, ready to be
copied into raw in bulk while the next block is parsed.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from difflib import SequenceMatcher
from typing import TypeAlias

import numpy as np
import pandas as pd

from include.ingest import ids, read, values
from include.ingest.contract import MEASURED_TYPES, NUMERIC_TYPES, Column, Section
from include.ingest.convert import Converted, Memo, cell_converter, convert

HEADER_SCAN_ROWS = 20
BLOCK_ROWS = 50_000  # rows parsed at a time: a block is copied while the next one is parsed
ID_SCREENED_TYPES = NUMERIC_TYPES | {"text"}  # types that would store an ID-shaped cell as written
SheetRows: TypeAlias = "Sequence[Sequence[object]] | pd.DataFrame"


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
    """The accepted rows of a sheet (``frame``: raw columns, then ``_sheet`` and ``_row_number``, as text)."""

    frame: pd.DataFrame
    findings: list[Finding]
    months: set[str]  # months named inside the sheet (title or month column)
    header_row: int | None
    rows_read: int = 0  # data rows seen below the header (blank rows and repeated headers not counted)

    @property
    def records(self) -> list[list[str | None]]:
        """The accepted rows as lists, in the raw table's column order (``None`` for NULL)."""
        return [list(row) for row in self.frame.itertuples(index=False, name=None)]


def header_key(text: str) -> str:
    """Headers compare after NFKC folding, without spaces and with ASCII parentheses."""
    folded = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", folded).replace("（", "(").replace("）", ")")


_TITLE_MONTH = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月")
_NFKC = unicodedata.normalize


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


def _storable(text: str) -> str:
    """``text`` as PostgreSQL can store it: a NUL (an xlsx cell's ``_x0000_``) shown as U+FFFD."""
    return text.replace("\x00", "\ufffd")


def _shown(column: Column, text: str) -> str:
    """What a finding may show of a cell: never a resident ID."""
    if column.type == "resident_id":
        return f"a value of {len(text)} characters (withheld: personal ID)"
    if ids.holds_id(text):
        return f"an ID-shaped value of {len(text)} characters (withheld: personal ID)"
    return repr(text) if text else "a blank cell"


Spec = tuple[int, Column, str | None, str]  # position, column, unit, header as printed
Positions = dict[str, Spec]  # canonical column -> where it is read from
CONTENT_SAMPLE_ROWS = 200  # rows a column's content is first checked on (all of them only when they all fit)
_KINDS = {  # how findings name the numeric kinds: one value, several
    "count": ("a count", "counts"),
    "amount": ("an amount", "amounts"),
    "quantity": ("a quantity", "quantities"),
    "rate": ("a rate", "rates"),
    "rank": ("a rank", "ranks"),
    "number": ("a number", "numbers"),
}
Fit = Callable[[str], str | None]  # a cell's canonical value as one kind, or None when it is not one


class _Columns:
    """The cell texts of the data rows below the header, by position, read when first asked for."""

    def __init__(self, body: pd.DataFrame, first_number: int) -> None:
        self.body, self.first_number = body, first_number
        self._full: dict[int, np.ndarray] = {}

    def head(self, position: int) -> np.ndarray:
        if position in self._full:
            return self._full[position][:CONTENT_SAMPLE_ROWS]
        return column_text(self.body.iloc[:CONTENT_SAMPLE_ROWS, position].to_numpy(dtype=object))

    def full(self, position: int) -> np.ndarray:
        if position not in self._full:
            self._full[position] = column_text(self.body.iloc[:, position].to_numpy(dtype=object))
        return self._full[position]


def _map_header(
    section: Section, header: list[str], columns: _Columns, row: int
) -> tuple[Positions | None, list[Finding]]:
    """Canonical column -> where it is read from, and the header's findings (in header order).

    A header names a contract column by its alias; a numeric column whose values are all of
    another kind is read as the column of that kind they fit (``_by_content``). Two columns read
    as one are compared: equal, one is loaded; different, the sheet cannot be loaded (None).
    """
    index = _alias_index(section)
    found: list[tuple[int, Finding]] = []
    claims: list[Spec] = []
    for position, cell in enumerate(header):
        key_text = header_key(cell)
        if key_text in index:
            claims.append((position, *index[key_text], cell))
        elif key_text:
            printed, expected = ids.redact(cell), "a header listed in the feed contract"
            unknown = Finding(
                "unknown_header",
                "warn",
                section.sheet,
                row,
                _storable(printed),
                expected,
                f"{printed!r}; column ignored",
            )
            found.append((position, unknown))
    named = {claim[1].name for claim in claims}
    groups: dict[str, list[tuple[Spec, Finding | None]]] = {}
    for claim in claims:
        reading = _by_content(section, claim, columns, named, row)
        spec = claim if reading is None else (claim[0], reading[0], None, claim[3])
        groups.setdefault(spec[1].name, []).append((spec, reading and reading[1]))
    positions: Positions | None = {}
    for name, group in groups.items():
        group.sort(key=lambda item: (item[1] is not None, item[0][0]))  # as labelled first, then by position
        (kept, mislabelled), *others = group
        if mislabelled:
            found.append((kept[0], mislabelled))
        for other, _ in others:
            twin = _twin(section, kept, other, columns, row)
            found.append((other[0], twin))
            if twin.severity == "error":
                positions = None
        if positions is not None:
            positions[name] = kept
    return positions, [finding for _, finding in sorted(found, key=lambda item: item[0])]


def _fit(column: Column, unit: str | None) -> Fit:
    """A cell's value as ``column``'s kind, or None. A bare rate must lie within ±100 (a percent sign may exceed it)."""
    convert_one = cell_converter(column, unit, b"")

    def fit(text: str) -> str | None:
        try:
            value = convert_one(text)[0]
        except ValueError:
            return None
        if column.type == "rate" and value is not None and not text.endswith("%") and abs(Decimal(value)) > 100:
            return None
        return value

    return fit


def _reads_as(cells: Iterable[str], ours: Fit, theirs: Fit) -> str | None:
    """A cell showing the column's values are of ``theirs`` kind, if every cell is one and not of ``ours``.

    A zero both kinds read (a dash, a blank-like 0) tells nothing; any other cell of our kind, or of
    neither, means the column is not of theirs. None when no cell shows it.
    """
    example = None
    for text in cells:
        mine, yours = ours(text), theirs(text)
        if yours is None or (mine is not None and not mine == yours == "0"):
            return None
        if mine is None and example is None:
            example = text
    return example


def _by_content(
    section: Section, claim: Spec, columns: _Columns, named: set[str], row: int
) -> tuple[Column, Finding] | None:
    """The column a mislabelled numeric column is read as, and the finding that says so; None: as labelled.

    A column is mislabelled when every non-blank cell is a value of another numeric kind of
    the section and none (but zeros) of the header's kind: rates (24.41%, 19.56) under a
    count's header, amounts (3.5) under a count's. Of the section's columns of the kinds
    the values fit, the one whose aliases read most like the header is taken (a tie: as labelled).
    """
    position, column, unit, printed = claim
    if column.type not in NUMERIC_TYPES:
        return None
    kinds = {c.type: _fit(c, None) for c in section.columns if c.type in NUMERIC_TYPES and c.type != column.type}
    ours, key_text = _fit(column, unit), header_key(printed)
    examples: dict[str, str | None] = {}
    for texts in (columns.head, lambda at: pd.unique(columns.full(at))):  # a sample first, then every distinct text
        if not kinds:
            return None
        cells = [text for text in texts(position).tolist() if text and header_key(text) != key_text]  # no header
        examples = {kind: _reads_as(cells, ours, fit) for kind, fit in kinds.items()}
        kinds = {kind: fit for kind, fit in kinds.items() if examples[kind] is not None}
    target = _closest(printed, [c for c in section.columns if c.type in kinds], named)
    if target is None:
        return None
    (one, several), labelled = _KINDS[target.type], _KINDS[column.type][0]
    expected = f"{column.name} ({labelled}), as the header says"
    example = _shown(column, examples[target.type] or "")
    found = f"{several}: every value is {one}, none {labelled} (e.g. {example}); read as {target.name}"
    return target, Finding("mislabelled_column", "warn", section.sheet, row, printed, expected, found)


def _closest(printed: str, candidates: list[Column], named: set[str]) -> Column | None:
    """The candidate whose aliases read most like the header (then one no header names); None on a tie."""
    key_text = header_key(printed)

    def score(column: Column) -> tuple[float, bool]:
        alike = max(SequenceMatcher(None, key_text, header_key(alias)).ratio() for alias in column.aliases)
        return alike, column.name not in named

    ranked = sorted(candidates, key=score, reverse=True)
    if not ranked or (len(ranked) > 1 and score(ranked[0]) == score(ranked[1])):
        return None
    return ranked[0]


def _twin(section: Section, kept: Spec, other: Spec, columns: _Columns, row: int) -> Finding:
    """Two columns read as one: a copy (warn, ``other`` ignored) or a conflict (error, the sheet is not loaded)."""
    name, a, b = kept[1].name, kept[0] + 1, other[0] + 1
    differ = [i for i, (x, y) in enumerate(zip(_values(kept, columns), _values(other, columns), strict=True)) if x != y]
    if not differ:
        found = f"the same values as column {a} in every row; column {b} ignored"
        return Finding("duplicate_column", "warn", section.sheet, row, other[3], f"one column for {name}", found)
    found = (
        f"columns {a} and {b} both read as {name} and differ in {len(differ)} row{'s' * (len(differ) > 1)} "
        f"(first in row {columns.first_number + differ[0]}); the sheet is not loaded"
    )
    return Finding("conflicting_columns", "error", section.sheet, row, other[3], f"one column for {name}", found)


def _values(spec: Spec, columns: _Columns) -> list[object]:
    """A column's values for comparing it with its twin: numbers as read (amounts in the base unit), else the text."""
    position, column, unit, _ = spec
    texts = columns.full(position)
    if column.type not in NUMERIC_TYPES:
        return texts.tolist()
    converted = convert(column, unit, texts, b"")
    read: list[object] = converted.values[0].tolist()
    if column.type in MEASURED_TYPES:
        factors = values.UNITS[column.type]
        units = converted.values[1].tolist()
        read = [None if v is None else Decimal(str(v)) * factors[u] for v, u in zip(read, units, strict=True)]
    failed = converted.failed.tolist()
    return [("unreadable", t) if bad else v for v, bad, t in zip(read, failed, texts.tolist(), strict=True)]


def column_text(cells: np.ndarray) -> np.ndarray:
    """``values.cell_text`` of every cell of a column, as an object array.

    A column of strings that is already NFKC-normal as a whole (ASCII always is) is only
    stripped: the same result, without a normalisation call per cell.
    """
    items = cells.tolist()
    if pd.api.types.infer_dtype(cells, skipna=False) == "string":
        joined = "\x00".join(items)  # NUL is a starter that composes with nothing: checks each cell alone
        if joined.isascii() and not _edge_space(joined.encode("ascii")):
            return cells
        if joined.isascii() or unicodedata.is_normalized("NFKC", joined):
            return _objects([item.strip() for item in items])
        return _objects([_NFKC("NFKC", item).strip() for item in items])
    return _objects([_NFKC("NFKC", c).strip() if type(c) is str else values.cell_text(c) for c in items])


_ASCII_SPACE = bytes.maketrans(b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f", b"\x01" * 10)  # what str.strip() strips


def _edge_space(joined: bytes) -> bool:
    """Whether any cell of a NUL-joined ASCII column starts or ends with whitespace."""
    marked = joined.translate(_ASCII_SPACE)
    return b"\x01\x00" in marked or b"\x00\x01" in marked or marked[:1] == b"\x01" or marked[-1:] == b"\x01"


def _objects(items: list[str]) -> np.ndarray:
    """A 1-d object array of strings."""
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _texts(body: pd.DataFrame) -> dict[int, np.ndarray]:
    """Cell texts of every column that has any content (a column of blanks is left out)."""
    texts: dict[int, np.ndarray] = {}
    grid = body.to_numpy(dtype=object)  # one array: a frame's columns one by one cost ~50 us each (16,384 wide)
    for position in range(grid.shape[1]):
        cells = grid[:, position]
        if len(cells) and not (cells == "").all():
            texts[position] = column_text(cells)
    return texts


@dataclass(frozen=True)
class SheetPlan:
    """What a sheet's header says: where each canonical column is, or why the sheet cannot be read."""

    section: Section
    cells: pd.DataFrame
    findings: list[Finding]  # about the header (and title) only
    months: frozenset[str]  # months named in the title rows
    header_row: int | None  # 1-based; None when no header row was found
    header: list[str]
    positions: Positions | None  # None: no header, or a required column missing
    memos: dict[str, Memo] = field(default_factory=dict)  # per column: distinct texts converted so far

    def blocks(
        self,
        key: bytes,
        *,
        month_column: str | None = "report_month",
        rows: int = BLOCK_ROWS,
        born_by: dt.date | None = None,
    ) -> Iterator[ParsedSheet]:
        """The data rows below the header, parsed ``rows`` spreadsheet rows at a time.

        ``born_by`` (the last day of the delivery's month) is the latest birth date a resident ID may carry.
        """
        if self.positions is None or self.header_row is None:
            return
        for start in range(self.header_row, len(self.cells), rows):
            yield _parse_block(self, start, min(start + rows, len(self.cells)), key, month_column, born_by=born_by)


def plan_sheet(section: Section, rows: SheetRows) -> SheetPlan:
    """Find the header row (below any title rows), map its columns, and check the required ones."""
    sheet = section.sheet
    cells = rows if isinstance(rows, pd.DataFrame) else read.cells_frame(rows)
    findings: list[Finding] = []
    months: set[str] = set()
    top = [[values.cell_text(cell) for cell in row] for row in cells.iloc[:HEADER_SCAN_ROWS].to_numpy().tolist()]
    header_at = _find_header(top, section)
    if header_at is None:
        expected = "a header row with " + ", ".join(next(iter(c.aliases)) for c in section.columns if c.required)
        findings.append(Finding("missing_header", "error", sheet, None, None, expected, "no such row in the first 20"))
        return SheetPlan(section, cells, findings, frozenset(), None, [], None)
    for title in top[:header_at]:
        for found in _TITLE_MONTH.finditer(" ".join(title)):
            months.add(f"{int(found[1]):04d}-{int(found[2]):02d}-01")
    header = top[header_at]
    columns = _Columns(cells.iloc[header_at + 1 :], header_at + 2)
    positions, header_findings = _map_header(section, header, columns, header_at + 1)
    findings.extend(header_findings)
    missing = [] if positions is None else [c for c in section.columns if c.required and c.name not in positions]
    for column in missing:
        expected = f"a column {' / '.join(column.aliases)}"
        findings.append(Finding("missing_column", "error", sheet, header_at + 1, None, expected, "no such header"))
    if missing:
        positions = None
    return SheetPlan(section, cells, findings, frozenset(months), header_at + 1, header, positions)


def parse_sheet(
    section: Section,
    rows: SheetRows,
    key: bytes,
    *,
    month_column: str | None = "report_month",
    born_by: dt.date | None = None,
) -> ParsedSheet:
    """Parse one sheet (rows of cells, or a frame from ``read``) against its section of the contract."""
    plan = plan_sheet(section, rows)
    return combine(plan, list(plan.blocks(key, month_column=month_column, born_by=born_by)))


def combine(plan: SheetPlan, blocks: list[ParsedSheet]) -> ParsedSheet:
    """One parsed sheet from its plan and its blocks, in row order."""
    frames = [block.frame for block in blocks if len(block.frame)]
    frame = pd.concat(frames, ignore_index=True) if frames else _empty(plan.section)
    return ParsedSheet(
        frame,
        [*plan.findings, *(finding for block in blocks for finding in block.findings)],
        set(plan.months).union(*(block.months for block in blocks)),
        plan.header_row,
        rows_read=sum(block.rows_read for block in blocks),
    )


def _parse_block(
    plan: SheetPlan, start: int, stop: int, key: bytes, month_column: str | None, *, born_by: dt.date | None
) -> ParsedSheet:
    """Rows ``start``..``stop`` of the sheet (0-based frame rows, all below the header)."""
    section, positions = plan.section, plan.positions or {}
    body = _Body(plan.cells.iloc[start:stop], start + 1)
    converted = {
        name: body.convert(spec, key, plan.memos.setdefault(name, {}), born_by) for name, spec in positions.items()
    }
    problems = {name: body.problems(spec, converted[name]) for name, spec in positions.items()}
    repeated = body.repeated_header(plan.header, positions, problems)
    rejected = np.zeros(len(body.rows), dtype=bool)
    for problem in problems.values():
        rejected |= problem.bad
    rejected &= ~repeated
    findings = _row_findings(
        section, body, positions=positions, problems=problems, rejected=rejected, repeated=repeated
    )
    accepted = ~rejected & ~repeated
    frame = _frame(section, positions, converted, body, accepted)
    months: set[str] = set()
    if month_column and month_column in positions:
        written = body.text(positions[month_column][0]) != ""
        months.update(converted[month_column].values[0][accepted & written].tolist())
    return ParsedSheet(frame, findings, months, plan.header_row, rows_read=int((~repeated).sum()))


@dataclass(frozen=True)
class _Problems:
    """Per data row of one column: the rule broken (or None), and what was expected."""

    rule: np.ndarray
    expected: np.ndarray
    bad: np.ndarray  # bool: ``rule`` is set


class _Body:
    """The data rows below the header: non-blank rows only, with their spreadsheet row numbers."""

    def __init__(self, cells: pd.DataFrame, first_number: int) -> None:
        texts = _texts(cells)
        blank = np.ones(len(cells), dtype=bool)
        for text in texts.values():
            blank &= text == ""
        self.rows = np.flatnonzero(~blank)
        self.numbers = self.rows + first_number
        every_row = len(self.rows) == len(cells)
        self._texts = texts if every_row else {position: text[self.rows] for position, text in texts.items()}
        self._empty = np.full(len(self.rows), "", dtype=object)

    def text(self, position: int) -> np.ndarray:
        """The cell texts of a column, blank where the column is entirely blank."""
        return self._texts.get(position, self._empty)

    def convert(self, spec: Spec, key: bytes, memo: Memo | None = None, born_by: dt.date | None = None) -> Converted:
        """One mapped column converted (``spec`` is its entry in the header's positions)."""
        position, column, unit, _ = spec
        return convert(column, unit, self.text(position), key, memo, born_by=born_by)

    def problems(self, spec: Spec, converted: Converted) -> _Problems:
        """Cells that did not convert, blank required cells, and ID-shaped values outside the ID column."""
        position, column, _, _ = spec
        rule = np.full(len(self.rows), None, dtype=object)
        rule[converted.failed] = f"bad_{column.type}"
        expected = converted.problem.copy()
        bad = converted.failed.copy()
        if column.required and column.type not in NUMERIC_TYPES:
            blank = self.text(position) == ""
            rule[blank], expected[blank] = "required_blank", "a value"
            bad |= blank
        if column.type == "text" and "\x00" in "".join(self.text(position).tolist()):
            nul = np.array(["\x00" in text for text in self.text(position).tolist()], dtype=bool)
            rule[nul], expected[nul] = "control_character", "text without NUL characters (PostgreSQL cannot store them)"
            bad |= nul
        if column.type in ID_SCREENED_TYPES:
            stray = ids.looks_like_id(self.text(position))
            if column.type in NUMERIC_TYPES:  # a number as stored: "4.11481199001011234E17" is 18 digits
                stray |= ids.looks_like_id([value or "" for value in converted.values[0].tolist()])
            rule[stray] = "resident_id_elsewhere"
            expected[stray] = "no resident ID outside the ID column (IDs are kept only as keyed hashes)"
            bad |= stray
        return _Problems(rule, expected, bad)

    def repeated_header(self, header: list[str], positions: Positions, problems: dict[str, _Problems]) -> np.ndarray:
        """Rows that repeat the header row (compared as ``header_key``s over the header's width).

        A repeated header fails every typed column, so only rows with a problem in a
        typed column are compared, unless every mapped column is free text.
        """
        typed = [problems[name].bad for name, spec in positions.items() if spec[1].type != "text"]
        suspects = np.zeros(len(self.rows), dtype=bool) if typed else np.ones(len(self.rows), dtype=bool)
        for bad in typed:
            suspects |= bad
        keys = [header_key(cell) for cell in header]
        while keys and not keys[-1]:
            keys.pop()
        repeated = np.zeros(len(self.rows), dtype=bool)
        for row in np.flatnonzero(suspects).tolist():
            repeated[row] = all(header_key(self.text(i)[row]) == key_text for i, key_text in enumerate(keys))
        return repeated


def _row_findings(
    section: Section,
    body: _Body,
    *,
    positions: Positions,
    problems: dict[str, _Problems],
    rejected: np.ndarray,
    repeated: np.ndarray,
) -> list[Finding]:
    """A note per repeated header row and a finding per bad cell of a rejected row: by row, then column."""
    found: list[tuple[int, int, Finding]] = [
        (
            row,
            -1,
            Finding(
                "repeated_header",
                "info",
                section.sheet,
                int(body.numbers[row]),
                None,
                "a data row",
                "a repeat of the header row; skipped",
            ),
        )
        for row in np.flatnonzero(repeated).tolist()
    ]
    order = {column.name: i for i, column in enumerate(section.columns)}
    for name, problem in problems.items():
        _, column, _, printed = positions[name]
        text = body.text(positions[name][0])
        for row in np.flatnonzero(rejected & problem.bad).tolist():
            rule = problem.rule[row]
            shown = "a blank cell" if rule == "required_blank" else _shown(column, text[row])
            finding = Finding(
                rule,
                "error",
                section.sheet,
                int(body.numbers[row]),
                printed,
                str(problem.expected[row]),
                f"{shown}; row rejected",
            )
            found.append((row, order[name], finding))
    return [finding for _, _, finding in sorted(found, key=lambda item: item[:2])]


def data_columns(section: Section) -> list[str]:
    """The frame's columns: the section's raw columns without the lineage the loader adds."""
    return [name for name in section.raw_columns() if name not in ("_load_id", "_feed_month", "_version")]


def _empty(section: Section) -> pd.DataFrame:
    """A frame of no rows with the section's columns."""
    return pd.DataFrame({name: np.array([], dtype=object) for name in data_columns(section)}, dtype=object)


def _frame(
    section: Section,
    positions: Positions,
    converted: dict[str, Converted],
    body: _Body,
    accepted: np.ndarray,
) -> pd.DataFrame:
    """The accepted rows in the raw table's column order; columns the header lacks are NULL."""
    count = int(accepted.sum())
    arrays: list[np.ndarray] = []
    for column in section.columns:
        if column.name in positions:
            arrays.extend(array[accepted] for array in converted[column.name].values)
        else:
            arrays.extend(np.full(count, None, dtype=object) for _ in column.raw_columns())
    arrays.append(np.full(count, section.sheet, dtype=object))
    arrays.append(body.numbers[accepted].astype(str).astype(object))
    return pd.DataFrame(dict(zip(data_columns(section), arrays, strict=True)), dtype=object)
