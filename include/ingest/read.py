"""Open a department's file safely and return its sheets as rows of cells.

xlsx files are read with python-calamine (about 7x openpyxl here); CSV files
have their encoding detected from the bytes, never guessed silently. Files that
cannot be opened raise ``Unreadable`` with a reason fit for a finding.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_UNCOMPRESSED = 2 * 1024**3  # 2 GiB: more than a year of 低保 payments in one sheet
MAX_RATIO = 200  # real xlsx compress 5-20x; bombs compress 1000x


class Unreadable(Exception):
    """The file cannot be read at all; the message says why (and what was expected)."""

    def __init__(self, rule: str, expected: str, found: str) -> None:
        super().__init__(f"{rule}: expected {expected}, found {found}")
        self.rule, self.expected, self.found = rule, expected, found


@dataclass(frozen=True)
class Workbook:
    sheets: dict[str, list[list[object]]]
    encoding: str | None  # for CSV: the detected encoding


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_encoding(data: bytes) -> str:
    """UTF-8 with BOM, UTF-8, or GB18030 (a superset of GBK): whichever decodes strictly."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise Unreadable("encoding", "UTF-8, UTF-8 with BOM, GBK or GB18030 text", "bytes that decode as none of them")


def _check_zip(path: Path) -> None:
    if not zipfile.is_zipfile(path):
        raise Unreadable("not_xlsx", "an .xlsx workbook (a zip archive)", "a file that is not a zip archive")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise Unreadable("truncated", "a complete .xlsx archive", f"a damaged archive ({error})") from None
    if bad is not None:
        raise Unreadable("truncated", "a complete .xlsx archive", f"a corrupt member {bad}")
    total = sum(info.file_size for info in infos)
    packed = max(1, sum(info.compress_size for info in infos))
    if total > MAX_UNCOMPRESSED or (total > 50 * 1024**2 and total / packed > MAX_RATIO):
        raise Unreadable(
            "zip_bomb",
            f"at most {MAX_UNCOMPRESSED // 1024**2} MiB unpacked and a ratio under {MAX_RATIO}:1",
            f"{total // 1024**2} MiB unpacked at {total / packed:.0f}:1",
        )
    if "xl/workbook.xml" not in {info.filename for info in infos}:
        raise Unreadable("not_xlsx", "an .xlsx workbook (xl/workbook.xml)", "a zip archive without a workbook")


def read_xlsx(path: Path) -> Workbook:
    from python_calamine import CalamineWorkbook  # noqa: PLC0415

    _check_zip(path)
    try:
        book = CalamineWorkbook.from_path(str(path))
        sheets: dict[str, list[list[object]]] = {
            name: [list(row) for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False)]
            for name in book.sheet_names
        }
    except Exception as error:  # calamine raises its own types for damaged XML
        raise Unreadable("corrupt", "a readable .xlsx workbook", f"{type(error).__name__}: {error}") from None
    return Workbook(sheets=sheets, encoding=None)


def read_csv(path: Path, sheet: str) -> Workbook:
    data = path.read_bytes()
    encoding = detect_encoding(data)
    text = data.decode(encoding)
    rows: list[list[object]] = [list(row) for row in csv.reader(io.StringIO(text, newline=""))]
    return Workbook(sheets={sheet: rows}, encoding=encoding)


def read(path: Path, csv_sheet: str = "") -> Workbook:
    """Read ``path``; a CSV file is one sheet, named ``csv_sheet``."""
    if path.stat().st_size == 0:
        raise Unreadable("empty", "a file with data", "0 bytes")
    if path.suffix.lower() == ".csv":
        return read_csv(path, csv_sheet)
    return read_xlsx(path)
