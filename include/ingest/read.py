"""Open a department's file safely and return its sheets as frames of cells.

xlsx files are read with python-calamine (about 7x openpyxl here), after the zip
directory has been checked: a bomb is refused from its declared sizes, before
anything is inflated. CSV files have their encoding detected from the bytes,
never guessed silently, and are parsed by pandas' C reader into text cells.
Files that cannot be opened raise ``Unreadable`` with a reason fit for a finding.

A sheet is a pandas DataFrame of ``object`` cells, one frame row per spreadsheet
row (blank rows kept, so row numbers are the ones the department sees), columns
numbered from 0.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

MiB = 1024**2
MAX_UNCOMPRESSED = 2048 * MiB  # more than a year of 低保 payments in one sheet
MAX_RATIO = 200  # overall, once past RATIO_FLOOR: real xlsx compress 5-20x, deflate bombs about 1000x
MAX_MEMBER_RATIO = 500  # one member past MEMBER_FLOOR: a sheet of blanks is a bomb, a sheet of data never is
RATIO_FLOOR = 50 * MiB
MEMBER_FLOOR = 10 * MiB
MAX_MEMBERS = 10_000
MAX_CELLS = 50_000_000  # a sheet's grid (or a CSV's rows x widest row): 1,048,576 rows of 47 columns
MAX_COLUMNS = 16_384  # a worksheet's width (XFD): a CSV row wider than that is not a department's table
SPARSE_FLOOR, SPARSE_RATIO = 5_000_000, 100  # past the floor, a grid must be at least 1 % cells
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
SNIFF = {
    b"\xd0\xcf\x11\xe0": "an old-style .xls (OLE2) workbook",
    b"%PDF": "a PDF document",
    b"<htm": "an HTML page",
    b"<!DO": "an HTML page",
    b"<?xm": "an XML document",
}
CSV_WIDTH_SAMPLE = 200  # lines used to guess a CSV's width before reading it whole
_BREAK = re.compile(r"\r\n|\r|\n")  # where a CSV reader splits physical lines


class Unreadable(Exception):
    """The file cannot be read at all; the message says why (and what was expected).

    ``row`` is the 1-based row where a CSV went wrong, when that is known, and
    ``sheet`` the sheet a CSV file stands for.
    """

    def __init__(self, rule: str, expected: str, found: str, row: int | None = None) -> None:
        super().__init__(f"{rule}: expected {expected}, found {found}")
        self.rule, self.expected, self.found, self.row = rule, expected, found, row
        self.sheet: str | None = None


@dataclass(frozen=True)
class Workbook:
    sheets: dict[str, pd.DataFrame]  # sheet name -> cells (object dtype); only the sheets asked for
    encoding: str | None  # for CSV: the detected encoding
    names: tuple[str, ...] = ()  # every sheet the file holds, read or not


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_encoding(data: bytes) -> str:
    """UTF-8 with BOM, UTF-8, or GB18030 (a superset of GBK): whichever decodes strictly."""
    return _decode(data)[1]


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was in; raises ``Unreadable`` for anything else."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Unreadable("encoding", "UTF-8, UTF-8 with BOM, GBK or GB18030 text", "UTF-16 text (byte-order mark)")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise Unreadable(
            "encoding",
            "UTF-8, UTF-8 with BOM, GBK or GB18030 text",
            f"a NUL byte at offset {nul} (a binary file, or UTF-16 without a byte-order mark)",
            row=data.count(b"\n", 0, nul) + 1,
        )
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as error:
            raise _undecodable(data, error.start + 3, "UTF-8 (it starts with a UTF-8 byte-order mark)") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_error = error.start
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as error:
        gb_error = error.start
    # Report where the likelier reading broke: the one that got further into the file.
    if utf8_error >= gb_error:
        raise _undecodable(data, utf8_error, "UTF-8 (nor as GB18030)") from None
    raise _undecodable(data, gb_error, "GB18030 (nor as UTF-8)") from None


def _undecodable(data: bytes, offset: int, tried: str) -> Unreadable:
    """The finding's reason for bytes that decode as nothing we accept: where, and which bytes."""
    line = data.count(b"\n", 0, offset) + 1
    shown = data[offset : offset + 4].hex(" ")
    return Unreadable(
        "encoding",
        "UTF-8, UTF-8 with BOM, GBK or GB18030 text",
        f"bytes {shown} at offset {offset} (line {line}) that do not decode as {tried}",
        row=line,
    )


def _sniff(path: Path) -> bytes:
    """The first four bytes of a file: enough to tell a zip from an OLE2 .xls, a PDF or a web page."""
    with open(path, "rb") as handle:
        return handle.read(4)


def _check_zip(path: Path) -> None:
    """Refuse what is not an intact, reasonably sized xlsx: decided from the zip directory alone."""
    head = _sniff(path)
    if not head.startswith(ZIP_MAGIC):
        what = SNIFF.get(head, "a file that is not a zip archive")
        raise Unreadable("not_xlsx", "an .xlsx workbook (a zip archive)", what)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise Unreadable(
            "truncated", "a complete .xlsx archive", f"a zip archive without its directory ({error})"
        ) from None
    total = sum(info.file_size for info in infos)
    packed = max(1, sum(info.compress_size for info in infos))
    worst = max(
        (info.file_size / max(1, info.compress_size) for info in infos if info.file_size > MEMBER_FLOOR), default=0
    )
    bomb = (
        len(infos) > MAX_MEMBERS
        or total > MAX_UNCOMPRESSED
        or (total > RATIO_FLOOR and total / packed > MAX_RATIO)
        or worst > MAX_MEMBER_RATIO
    )
    if bomb:
        raise Unreadable(
            "zip_bomb",
            f"at most {MAX_MEMBERS} members and {MAX_UNCOMPRESSED // MiB} MiB unpacked, compressed under "
            f"{MAX_RATIO}:1 past {RATIO_FLOOR // MiB} MiB and under {MAX_MEMBER_RATIO}:1 for a member "
            f"past {MEMBER_FLOOR // MiB} MiB",
            f"{len(infos)} members declaring {total // MiB} MiB unpacked at {total / packed:.0f}:1"
            + (f", one at {worst:.0f}:1" if worst else "")
            + " (refused unopened)",
        )
    if "xl/workbook.xml" not in {info.filename for info in infos}:
        raise Unreadable("not_xlsx", "an .xlsx workbook (xl/workbook.xml)", "a zip archive without a workbook")
    _check_grid(path, infos)


def _check_grid(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse a sheet whose farthest cell spans a grid too big to build (one cell at XFD1048576 is 17 billion).

    calamine allocates every cell from A1 to the farthest one a sheet names, and aborts the
    whole process when it cannot; so each member is scanned first, in C, for rows past 99,999
    and cells past column Z or row 999,999. A grid past ``MAX_CELLS`` is refused, and so is one
    past ``SPARSE_FLOOR`` with less than one cell's worth of XML (16 bytes) per ``SPARSE_RATIO``
    cells: a sheet of blanks. A member that does not inflate is left to calamine to report.
    """
    with zipfile.ZipFile(path) as archive:
        for info in infos:
            if not info.filename.endswith(".xml"):
                continue
            try:
                rows, columns, farthest = _grid(archive, info)
            except (RuntimeError, NotImplementedError) as error:  # encrypted, or a method zipfile lacks
                found = f"{info.filename}: encrypted or compressed in a way that cannot be checked ({error})"
                raise Unreadable("corrupt", "a readable .xlsx workbook", found) from None
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
                continue
            grid, cells = rows * columns, info.file_size // 16
            if grid > MAX_CELLS or (grid > SPARSE_FLOOR and grid > SPARSE_RATIO * cells):
                raise Unreadable(
                    "too_many_cells",
                    f"sheets within {MAX_CELLS:,} cells from A1 to their farthest cell (past {SPARSE_FLOOR:,}, "
                    f"at least 1 in {SPARSE_RATIO} of them written)",
                    f"{info.filename}: {info.file_size:,} bytes of XML naming cells up to row {rows:,} and column "
                    f"{farthest}, a grid of {grid:,} cells (refused unopened)",
                )


def _grid(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int, str]:
    """The rows and columns a member's cells span (at least 99,999 and 26), and the farthest column's letters."""
    rows, columns, farthest = 99_999, 26, "Z"
    for block in _blocks(archive, info):
        for letters, row, row_element in set(_FAR.findall(block)):
            rows = max(rows, int(row or row_element))
            if letters and _column_number(letters) > columns:
                columns, farthest = _column_number(letters), letters.decode()
    if columns > 26:  # a wide sheet: its rows counted exactly (rare, so a second pass)
        rows = max(max(map(int, _ANY_ROW.findall(block)), default=0) for block in _blocks(archive, info))
    return rows, columns, farthest


def _blocks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A member inflated 16 MiB at a time, each block starting with the last bytes of the one before."""
    tail = b""
    with archive.open(info) as member:
        while chunk := member.read(1 << 24):
            yield tail + chunk
            tail = chunk[-24:]


# One pass finds what can make a grid big: a cell past column Z or row 999,999, a row past 99,999.
_FAR = re.compile(rb' r="([A-Z]{2,}|[A-Z](?=[0-9]{7}))([0-9]+)"|<row r="([0-9]{6,})"')
_ANY_ROW = re.compile(rb' r="[A-Z]*([0-9]+)"')


def _column_number(letters: bytes) -> int:
    """A column's number from its letters: A is 1, Z 26, AA 27, XFD 16,384."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def read_xlsx(path: Path, wanted: Callable[[str], bool] | None = None) -> Workbook:
    """The sheets of an xlsx workbook for which ``wanted(name)`` holds (all by default)."""
    from python_calamine import CalamineWorkbook  # noqa: PLC0415

    _check_zip(path)
    try:
        book = CalamineWorkbook.from_path(str(path))
        names = tuple(book.sheet_names)
        sheets = {
            name: cells_frame(book.get_sheet_by_name(name).to_python(skip_empty_area=False))
            for name in names
            if wanted is None or wanted(name)
        }
    except Exception as error:  # calamine raises its own types for damaged XML or streams
        raise Unreadable("corrupt", "a readable .xlsx workbook", f"{type(error).__name__}: {error}") from None
    return Workbook(sheets=sheets, encoding=None, names=names)


def cells_frame(rows: Sequence[Sequence[object]]) -> pd.DataFrame:
    """Rows of cells as an object frame, short rows padded with blanks."""
    if not rows:
        return pd.DataFrame(dtype=object)
    width = max(len(row) for row in rows)
    if any(len(row) != width for row in rows):
        rows = [list(row) + [""] * (width - len(row)) for row in rows]
    return pd.DataFrame(rows, dtype=object)


def read_csv(path: Path, sheet: str) -> Workbook:
    """A CSV file as one sheet named ``sheet``; refuses undecodable and cut-off files."""
    try:
        data = path.read_bytes()
        text, encoding = _decode(data)
        if not text or text.isspace():
            raise Unreadable("empty", "a file with data", f"{len(data)} bytes of blank text")
        source = data if encoding.startswith("utf-8") else text.encode("utf-8")  # pandas skips a leading BOM
        cells = _parse_csv(text, source)
        _check_last_row(text, cells)
    except Unreadable as error:
        error.sheet = sheet or None
        raise
    return Workbook(sheets={sheet: cells}, encoding=encoding, names=(sheet,))


def _lines(text: str) -> list[str]:
    """Physical lines, split where a CSV reader splits them (CR, LF, CRLF)."""
    return _BREAK.split(text)


def _head(text: str) -> list[str]:
    """The first ``CSV_WIDTH_SAMPLE`` physical lines, each whole however long it is.

    A line cut short would under-count the width, and pandas reads the surplus cells of a
    first row wider than its names as a (multi-)index: cells lost, and very slowly.
    """
    end = 0
    for _ in range(CSV_WIDTH_SAMPLE):
        found = _BREAK.search(text, end)
        if found is None:
            return _lines(text)
        end = found.end()
    return _lines(text[:end])[:CSV_WIDTH_SAMPLE]


def _width(lines: Iterable[str]) -> int:
    """The most cells a record of ``lines`` holds as the csv module splits it; if it cannot, commas + 1."""
    lines = list(lines)
    try:
        return max((len(row) for row in csv.reader(lines)), default=1)
    except csv.Error:  # e.g. a cell over the csv module's field size limit
        return 1 + max((line.count(",") for line in lines), default=0)


def _check_cells(width: int, rows: int) -> None:
    """Refuse a CSV whose frame (rows x widest row) would be too big to build, or wider than a worksheet."""
    if width > MAX_COLUMNS or width * rows > MAX_CELLS:
        raise Unreadable(
            "too_many_cells",
            f"a CSV file of at most {MAX_COLUMNS:,} cells a row and {MAX_CELLS:,} in all",
            f"a row of {width:,} cells in {rows:,} lines",
        )


def _fields(line: str) -> int | None:
    """How many cells one complete CSV line holds (None if the csv module refuses it)."""
    try:
        return len(next(csv.reader([line]), []))
    except csv.Error:
        return None


def _parse_csv(text: str, source: bytes) -> pd.DataFrame:
    """Parse ``source`` (``text`` as UTF-8) with pandas' C reader; the csv module if pandas cannot.

    pandas is given the width of the first lines; a record wider than that (a row pandas would
    cut, or read as an index) makes it try again with the widest record of the file.
    """
    width, lines = _width(_head(text)), max(text.count("\n"), text.count("\r")) + 1
    for attempt in range(2):
        _check_cells(width, lines)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)  # "a loss of data": a wider first row
                return pd.read_csv(
                    io.BytesIO(source),
                    header=None,
                    names=range(width),
                    index_col=False,
                    dtype=object,
                    na_filter=False,
                    keep_default_na=False,
                    skip_blank_lines=False,
                    encoding="utf-8",
                    engine="c",
                )
        except pd.errors.EmptyDataError:
            return pd.DataFrame(dtype=object)
        except (pd.errors.ParserError, pd.errors.ParserWarning) as error:
            inside = re.search(r"EOF inside string starting at row (\d+)", str(error))
            if inside:
                row = int(inside[1]) + 1
                raise Unreadable(
                    "truncated",
                    "a complete CSV file (every quoted cell closed)",
                    f"the file ends inside a quoted cell that opens in row {row}",
                    row=row,
                ) from None
            if attempt == 0:
                width = _width(_lines(text))
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:  # e.g. a cell over the csv module's field size limit
        raise Unreadable("corrupt", "a CSV file with records a reader can split", str(error)) from None
    _check_cells(max(map(len, rows), default=0), len(rows))
    return cells_frame([list(row) for row in rows])


def _check_last_row(text: str, cells: pd.DataFrame) -> None:
    """A last row shorter than the one before it, without a line break, was cut off in transit."""
    if not text or text.endswith(("\n", "\r")) or len(cells) < 2:
        return
    tail = _lines(text[-(1 << 16) :])[-2:]
    if len(tail) < 2 or tail[-1].count('"') % 2:
        return  # the last record spans lines: pandas has checked its quotes
    before, last = (_fields(line) for line in tail)
    if before is not None and last is not None and last < before:
        raise Unreadable(
            "truncated",
            f"a complete last row ({before} cells, ending with a line break)",
            f"row {len(cells)} stops after {last} cells without a line break: the file was cut off",
            row=len(cells),
        )


def read(path: Path, csv_sheet: str = "", *, wanted: Callable[[str], bool] | None = None) -> Workbook:
    """Read ``path``; a CSV file is one sheet, named ``csv_sheet``; ``wanted`` picks xlsx sheets."""
    if path.stat().st_size == 0:
        error = Unreadable("empty", "a file with data", "0 bytes")
        if path.suffix.lower() == ".csv":
            error.sheet = csv_sheet or None
        raise error
    if path.suffix.lower() == ".csv":
        return read_csv(path, csv_sheet)
    return read_xlsx(path, wanted)
