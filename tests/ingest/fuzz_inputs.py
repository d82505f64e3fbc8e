"""Hostile deliveries of the test feed for the fuzz tests: hypothesis strategies that build files.

Each strategy gives a ``Case``: the bytes of one delivery (a workbook, or a CSV pair) and
the spreadsheet rows of it that are valid base rows left untouched (``intact``), which must be
loaded unless the delivery is refused as a whole. Most cases mutate a valid base delivery
(tests/corpus/make_corpus.py's rows for the test feed), so they get past the header and
exercise row parsing; the rest are built from scratch or damaged at the byte or zip level.

Hypothesis draws only small choices (which mutation, where, which hostile value); large
things (a 1 MB cell, 20,000 columns) are built from them by repetition.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import openpyxl
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from tests.corpus import make_corpus as corpus

MONTH = dt.date(2023, 3, 1)  # a month no other test loads
STEM = f"小额信贷_{MONTH:%Y-%m}_fuzz"
DETAIL, TOTALS = "明细", "汇总"
IDS = tuple(corpus.IDS)
FULL_WIDTH_ID = "".join(chr(ord(c) + 0xFEE0) for c in IDS[4])
MB = 1 << 20
EXCEL_COLUMNS = 16_384  # what a worksheet can hold (openpyxl refuses more)


@dataclass(frozen=True)
class Case:
    """One delivery: file names and bytes, and per sheet the row numbers that must load."""

    kind: str
    files: tuple[tuple[str, bytes], ...]
    intact: dict[str, frozenset[int]] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        whole = hashlib.sha256()
        for name, data in self.files:
            whole.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return whole.hexdigest()[:16]

    def write(self, folder: Path) -> tuple[Path, ...]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, data in self.files:
            (folder / name).write_bytes(data)
            paths.append(folder / name)
        return tuple(sorted(paths))

    def __repr__(self) -> str:  # hypothesis prints it for a failing example: never megabytes of bytes
        sizes = ", ".join(f"{name} ({len(data)} bytes: {data[:60]!r})" for name, data in self.files)
        return f"Case({self.kind}, {self.digest}: {sizes})"

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:  # what hypothesis prints
        printer.text(repr(self))  # type: ignore[attr-defined]


# --- hostile cell values -------------------------------------------------------------------------

CONTROL = [chr(c) for c in (*range(0, 32), 0x7F, 0x85, 0xA0, 0x2028, 0x2029, 0xFEFF, 0x200B, 0x202E, 0x3000)]
FIXED_VALUES = [
    # formulas and injection
    "=cmd|' /C calc'!A0",
    "=1+1",
    "@SUM(A1:A9)",
    "+41148119900101123",
    '=HYPERLINK("http://example.invalid","x")',
    "-1+2",
    # quotes and separators
    '"',
    '""',
    'a"b',
    '"unclosed',
    "'",
    ",",
    ",,,",
    "\n",
    "\r",
    "\r\n",
    "\t",
    ";",
    "\\",
    "\\N",
    # numbers in odd forms
    "1e308",
    "1e999",
    "-1e-400",
    "NaN",
    "inf",
    "-0",
    "1,2,3",
    "１２３",
    "٣٫٥",
    "1_000",
    "0x10",
    " 5 ",
    "5%",
    "%",
    "1.2.3",
    "9" * 40,
    "0." + "0" * 30 + "1",
    "4.11481199001011234E17",
    "3.5万元",
    "3.5美元",
    "1200度",
    "—",
    "无",
    # dates and months
    "2023-02-29",
    "45000",
    "2023/3/1",
    "2023年3月1日",
    "0000-00-00",
    "9999-12-31",
    "2023-03-01T25:00",
    "三月",
    "2023-03",
    "2023-13",
    "202303",
    "2022-12",
    # counties, enums
    "永城市 ",
    "商丘市商丘市",
    "示范区",
    "郑州市",
    "已脱贫户",
    "监测户",
    "脱贫户",
    # resident IDs, as written and otherwise
    *IDS,
    IDS[0][:17],
    IDS[1][:17] + "x",
    FULL_WIDTH_ID,
    " ".join([IDS[2][:6], IDS[2][6:14], IDS[2][14:]]),
    "身份证" + IDS[3] + "号",
    # headers in the wrong place
    *corpus.DETAIL_HEADER[:5],
    *corpus.TOTALS_HEADER[1:3],
    corpus.title("明细表", MONTH),
    corpus.title("通报表", dt.date(2022, 12, 1)),
    # blanks
    "",
    " ",
    "\u3000",
    "\ufeff",
]
_ALPHABET = st.characters(codec="utf-8")  # no lone surrogates


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """One cell's text: a known troublemaker, control characters, a huge cell or random text."""
    choice = draw(st.integers(0, 9))
    if choice <= 4:
        return draw(st.sampled_from(FIXED_VALUES))
    if choice == 5:
        controls = st.text(st.sampled_from(["\x00", *CONTROL]), min_size=1, max_size=4)  # NUL the likeliest
        return draw(controls) + draw(st.sampled_from(FIXED_VALUES))
    if choice == 6:
        size = draw(st.sampled_from([300, 32_768, 200_000, MB]))
        return draw(st.sampled_from(["x", "睢县", "1", '"', ",", "a\nb", IDS[0]])) * (size // 4)
    return draw(st.text(_ALPHABET, max_size=12))


@st.composite
def hostile_value(draw: st.DrawFn) -> object:
    """A cell value for a workbook: text, or a number, date or boolean in an odd form."""
    if draw(st.integers(0, 3)):
        return draw(hostile_text())
    return draw(
        st.sampled_from(
            [
                0,
                -1,
                2**63,
                3.5,
                1e308,
                float("nan"),
                float("inf"),
                4.11481199001011e17,
                411481199001011234,
                Decimal("1E+30"),
                True,
                dt.datetime(1899, 12, 30),
                dt.datetime(2023, 3, 31, 23, 59, 59),
                dt.date(1900, 2, 28),
                dt.date(2023, 3, 1),
                dt.time(12, 0),
            ]
        )
    )


# --- a grid of cells and its mutations ---------------------------------------------------------


@dataclass
class Grid:
    """A sheet's rows, each tagged with whether it is a valid base data row left untouched."""

    name: str
    rows: list[list[object]]
    intact: list[bool]

    def numbers(self) -> frozenset[int]:
        return frozenset(i + 1 for i, ok in enumerate(self.intact) if ok)


def base_grids() -> list[Grid]:
    """The valid delivery: six loans, two counties and the city row, each sheet under a title row."""
    loans = corpus.detail_rows(MONTH)
    for i, row in enumerate(corpus.detail_rows(MONTH)):
        row[3], row[5] = IDS[3 + i % 2], f"41140{i}00000077"
        loans.append(row)
    sheets = [corpus.detail_sheet(loans, MONTH), corpus.totals_sheet(None, MONTH)]
    return [
        Grid(name, [list(row) for row in rows], [False, False, *([True] * (len(rows) - 2))])
        for name, rows in zip((DETAIL, TOTALS), sheets, strict=True)
    ]


Op = Callable[[Grid], None]


@st.composite
def mutation(draw: st.DrawFn, values: st.SearchStrategy[object]) -> Op:
    """One change to a grid: a cell, a row cut short or widened, rows inserted, removed or moved."""
    kind = draw(st.sampled_from(["set", "set", "set", "cut", "widen", "insert", "delete", "swap"]))
    where, column = draw(st.integers(0, 12)), draw(st.integers(0, 16))
    value = draw(values)
    count = draw(st.sampled_from([1, 3, 60, 2_000, 20_000]))

    def apply(grid: Grid) -> None:
        rows, intact = grid.rows, grid.intact
        r = where % (len(rows) + 1)
        if kind == "insert" or r == len(rows):
            filler: list[object] = {0: [], 1: list(rows[1]) if len(rows) > 1 else [], 2: [value]}[column % 3]
            rows.insert(r, filler)
            intact.insert(r, False)
            return
        intact[r] = False
        if kind == "set":
            rows[r].extend([""] * (column + 1 - len(rows[r])))
            rows[r][column] = value
        elif kind == "cut":
            del rows[r][column % max(1, len(rows[r])) :]
        elif kind == "widen":
            rows[r].extend([value if len(str(value)) < 100 else "x"] * count)
        elif kind == "delete":
            del rows[r], intact[r]
        else:
            other = column % len(rows)
            rows[r], rows[other] = rows[other], rows[r]
            intact[r], intact[other] = intact[other], intact[r]

    return apply


@st.composite
def mutated_grids(draw: st.DrawFn, values: st.SearchStrategy[object]) -> list[Grid]:
    """The base delivery with a few mutations, each to one of its two sheets."""
    grids = base_grids()
    for _ in range(draw(st.integers(0, 5))):
        index = draw(st.integers(0, 1))
        draw(mutation(values))(grids[index])
    return grids


# --- CSV ---------------------------------------------------------------------------------------

ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le", "latin-1", "big5", "mixed"]


def encode(text: str, encoding: str) -> bytes:
    """``text`` in ``encoding``: unencodable characters replaced; ``mixed`` alternates UTF-8 and GBK by line."""
    if encoding == "mixed":
        lines = text.split("\n")
        return b"\n".join(line.encode("utf-8" if i % 2 else "gbk", "replace") for i, line in enumerate(lines))
    return text.encode(encoding, "replace")


def csv_cells_text(rows: list[list[object]]) -> str:
    return corpus.csv_text([["" if value is None else str(value) for value in row] for row in rows])


def csv_names() -> tuple[str, str]:
    return f"{STEM}_{DETAIL}.csv", f"{STEM}_{TOTALS}.csv"


@st.composite
def csv_cells(draw: st.DrawFn) -> Case:
    """The base CSV pair with cells, rows and widths mutated, quoted properly, in some encoding."""
    grids = draw(mutated_grids(hostile_text()))
    encoding = draw(st.sampled_from(ENCODINGS))
    files = tuple(
        (name, encode(csv_cells_text(grid.rows), encoding)) for name, grid in zip(csv_names(), grids, strict=True)
    )
    if draw(st.integers(0, 19)) == 0:
        files = files[:1]  # the totals file not delivered
    return Case(f"csv_cells/{encoding}", files, {grid.name: grid.numbers() for grid in grids})


@st.composite
def csv_bytes(draw: st.DrawFn) -> Case:
    """The base CSV pair damaged byte by byte: cut, spliced with hostile bytes, spans dropped or doubled."""
    grids = base_grids()
    encoding = draw(st.sampled_from(["utf-8", "gb18030", "utf-8-sig"]))
    which = draw(st.integers(0, 1))
    files = [(name, encode(csv_cells_text(grid.rows), encoding)) for name, grid in zip(csv_names(), grids, strict=True)]
    data = bytearray(files[which][1])
    kinds = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "splice", "drop", "double", "quote"]))
        at = draw(st.integers(0, len(data)))
        piece = draw(
            st.one_of(
                st.binary(max_size=8),
                st.sampled_from([b'"', b'""', b",", b"\r", b"\n", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\x1a"]),
                hostile_text().map(lambda text: text.encode("utf-8")),
            )
        )
        kinds.append(kind)
        if kind == "cut":
            del data[at:]
        elif kind == "splice":
            data[at:at] = piece
        elif kind == "drop":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "double":
            data[at:at] = data[at : at + draw(st.integers(1, 200))]
        else:
            data[at:at] = b'"'
    files[which] = (files[which][0], bytes(data))
    intact = {grids[1 - which].name: grids[1 - which].numbers()}
    return Case(f"csv_bytes/{'+'.join(sorted(set(kinds)))}", tuple(files), intact)


@st.composite
def csv_scratch(draw: st.DrawFn) -> Case:
    """CSV files made from nothing: rows of hostile cells, with or without the contract's header."""
    files = []
    for name, header in zip(csv_names(), (corpus.DETAIL_HEADER, corpus.TOTALS_HEADER), strict=True):
        rows: list[list[object]] = [list(header)] if draw(st.booleans()) else []
        rows += draw(st.lists(st.lists(hostile_text(), max_size=15), max_size=6))
        text = csv_cells_text(rows) if draw(st.booleans()) else "\n".join(",".join(map(str, row)) for row in rows)
        files.append((name, encode(text, draw(st.sampled_from(ENCODINGS)))))
    return Case("csv_scratch", tuple(files))


# --- xlsx --------------------------------------------------------------------------------------

SHEET_NAMES = [
    DETAIL,
    TOTALS,
    " 明细 ",
    "明 细",
    "明细表",
    "Sheet1",
    "明细" * 20,
    "汇总'",
    IDS[0][:31],
    FULL_WIDTH_ID[:31],
]


def _excel_safe(value: object) -> object:
    """What openpyxl will write: characters XML cannot hold become OOXML ``_xHHHH_`` escapes."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub(lambda found: f"_x{ord(found[0]):04X}_", value)
    return value


@st.composite
def xlsx_cells(draw: st.DrawFn) -> Case:
    """The base workbook written by openpyxl, mutated: cells of any type, formulas, merges, sheet names."""
    grids = draw(mutated_grids(hostile_value()))
    book = openpyxl.Workbook()
    book.remove(book.active)
    kinds = ["cells"]
    for grid in grids:
        title = grid.name
        if draw(st.integers(0, 9)) == 0:
            title = draw(st.sampled_from(SHEET_NAMES))
            kinds.append("sheet_name")
        sheet = book.create_sheet(title[:31].replace("'", "") or "x")
        for row in grid.rows:
            sheet.append([_excel_safe(value) for value in row[:EXCEL_COLUMNS]])
        for _ in range(draw(st.integers(0, 2))):
            top, left = draw(st.integers(1, 12)), draw(st.integers(1, 14))
            bottom, right = top + draw(st.integers(0, 3)), left + draw(st.integers(0, 3))
            sheet.merge_cells(start_row=top, start_column=left, end_row=bottom, end_column=right)
            kinds.append("merged")
    if draw(st.integers(0, 9)) == 0:
        book.create_sheet(draw(st.sampled_from(SHEET_NAMES))[:31]).append(["备用"])
        kinds.append("extra_sheet")
    out = io.BytesIO()
    book.save(out)
    name = f"{STEM}.xlsx"
    return Case(f"xlsx_cells/{'+'.join(sorted(set(kinds)))}", ((name, out.getvalue()),), _intact(grids, kinds))


def _intact(grids: list[Grid], kinds: list[str]) -> dict[str, frozenset[int]]:
    """Merged cells may blank any row: then no row is promised."""
    return {} if "merged" in kinds else {grid.name: grid.numbers() for grid in grids}


XML_PIECES = [
    '<row r="9"><c r="A9" t="inlineStr"><is><t>\x01\x02</t></is></c></row>',
    '<row r="9"><c r="A9" t="inlineStr"><is><t>_x0000_睢县_x001F_</t></is></c></row>',
    '<row r="9"><c r="A9" t="inlineStr"><is><t>&#1;</t></is></c></row>',
    '<row r="9"><c r="A9" t="s"><v>99</v></c></row>',
    '<row r="9"><c r="A9" t="n"><v>abc</v></c></row>',
    '<row r="9"><c r="B9" t="b"><v>2</v></c></row>',
    '<row r="9"><c r="C9" t="d"><v>garbage</v></c></row>',
    '<row r="9"><c r="D9" t="e"><v>#DIV/0!</v></c></row>',
    '<row r="9"><c r="E9"><f>1/0</f><v>#DIV/0!</v></c></row>',
    '<row r="9"><c r="F9" t="str"><f>A1&amp;B1</f><v>=cmd|\' /C calc\'!A0</v></c></row>',
    '<row r="0"><c r="A0"><v>1</v></c></row>',
    '<row r="-3"><c r="A-3"><v>1</v></c></row>',
    '<row r="x"><c r="??"><v>1</v></c></row>',
    '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
    '<row r="1048576"><c r="N1048576"><v>1</v></c></row>',
    '<row r="30000"><c r="XFD30000"><v>1</v></c></row>',
    '<row r="9"><c r="A9"><v>1E+400</v></c></row>',
    '<row r="9"><c r="A9"><v>' + "9" * 400 + "</v></c></row>",
    '<row r="9"><c r="A9" t="inlineStr"><is><t>' + "x" * MB + "</t></is></c></row>",
    '<row r="2"><c r="A2" t="inlineStr"><is><t>重复</t></is></c></row>',
    "<row><c><v>1</v></c></row>",
    "<row r='9'><c r='A9' t='inlineStr'><is><t>unclosed",
]
WORKBOOK_EDITS = [
    ('name="汇总"', 'name="明细"'),  # two sheets of one name
    ('name="明细"', 'name=""'),
    ('name="明细"', 'name="明细\x01"'),
    ('name="汇总"', 'name="汇总_x0000_"'),
    ('r:id="rId2"', 'r:id="rId9"'),  # a sheet whose part is not there
    ("<sheets>", "<sheets><sheet/>"),
]


@st.composite
def xlsx_raw(draw: st.DrawFn) -> Case:
    """A workbook whose XML is damaged: control characters, bad cell types and references, far cells."""
    grids = base_grids()
    parts: dict[str, str | bytes] = dict(
        corpus.workbook_parts([(grid.name, corpus.sheet_xml(grid.rows)) for grid in grids])
    )
    kinds = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 3)):
            target = f"xl/worksheets/sheet{draw(st.integers(1, 2))}.xml"
            xml = str(parts[target])
            piece = draw(st.sampled_from(XML_PIECES))
            at = draw(st.sampled_from(["<sheetData>", "</sheetData>"]))
            parts[target] = xml.replace(at, at + piece if at == "<sheetData>" else piece + at)
            kinds.append("sheet_xml")
        else:
            old, new = draw(st.sampled_from(WORKBOOK_EDITS))
            parts["xl/workbook.xml"] = str(parts["xl/workbook.xml"]).replace(old, new)
            kinds.append("workbook_xml")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return Case(f"xlsx_raw/{'+'.join(sorted(set(kinds)))}", ((f"{STEM}.xlsx", out.getvalue()),))


@st.composite
def damaged_bytes(draw: st.DrawFn) -> Case:
    """A valid workbook cut short or with bytes flipped, or random bytes, named .xlsx or .csv."""
    grids = base_grids()
    parts = corpus.workbook_parts([(grid.name, corpus.sheet_xml(grid.rows)) for grid in grids])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    data = bytearray(out.getvalue())
    kind = draw(st.sampled_from(["cut", "flip", "random", "random_zip", "xls", "random_csv"]))
    if kind == "cut":
        del data[draw(st.integers(1, len(data) - 1)) :]
    elif kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    elif kind == "random":
        data = bytearray(draw(st.binary(min_size=1, max_size=2000)))
    elif kind == "random_zip":
        data = bytearray(b"PK\x03\x04" + draw(st.binary(max_size=2000)))
    elif kind == "xls":
        data = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + draw(st.binary(max_size=600)))
    else:
        raw = draw(st.binary(min_size=1, max_size=2000))
        return Case("bytes/random_csv", tuple((name, raw) for name in csv_names()))
    return Case(f"bytes/{kind}", ((f"{STEM}.xlsx", bytes(data)),))


def _openpyxl_case(kind: str, grids: list[Grid], extra: str = "") -> Case:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for grid in grids:
        sheet = book.create_sheet(grid.name)
        for row in grid.rows:
            sheet.append([_excel_safe(value) for value in row])
    if extra:
        book.create_sheet(extra).append(["备用"])
    out = io.BytesIO()
    book.save(out)
    return Case(kind, ((f"{STEM}.xlsx", out.getvalue()),), {grid.name: grid.numbers() for grid in grids})


def found_before(number: int) -> Case:
    """The inputs the fuzzer found bugs with, kept as fixed examples (each ran every time)."""
    grids = base_grids()
    if number == 0:  # a first line past 64 KiB, wider than its sample: pandas read the surplus as an index
        grids[0].rows[0].extend(["=cmd|' /C calc'!A0"] * 20_000)
        grids[0].intact[0] = False
        files = tuple((n, csv_cells_text(g.rows).encode()) for n, g in zip(csv_names(), grids, strict=True))
        return Case("found/csv_wide_first_line", files, {grid.name: grid.numbers() for grid in grids})
    if number == 1:  # NUL (_x0000_) in a text cell and in an unknown header: PostgreSQL cannot store it
        grids[0].rows[3][2], grids[0].intact[3] = "\x00村\x01", False
        grids[0].rows[1].append("备注\x00")
        return _openpyxl_case("found/xlsx_nul", grids)
    if number == 2:  # one cell at XFD1048576: calamine allocated 17 billion cells and aborted the process
        parts: dict[str, str | bytes] = dict(
            corpus.workbook_parts([(grid.name, corpus.sheet_xml(grid.rows)) for grid in grids])
        )
        far = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
        parts["xl/worksheets/sheet1.xml"] = str(parts["xl/worksheets/sheet1.xml"]).replace("</sheetData>", far)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in parts.items():
                archive.writestr(name, data)
        return Case("found/xlsx_far_cell", ((f"{STEM}.xlsx", out.getvalue()),))
    if number == 5:  # a count of a million digits: decimal.Overflow when rounded, not a finding
        grids[1].rows[2][1], grids[1].intact[2] = "9" * 1_000_000, False
        files = tuple((n, csv_cells_text(g.rows).encode()) for n, g in zip(csv_names(), grids, strict=True))
        return Case("found/csv_huge_number", files, {grid.name: grid.numbers() for grid in grids})
    if number == 4:  # a sheet named with a full-width ID and a digit more: its name was shown in a finding
        return _openpyxl_case("found/id_sheet_name", grids[:1], extra=FULL_WIDTH_ID + "1")
    # IDs where the ID screen missed them: run together, in exponent form, in full-width digits
    grids[0].rows[3][6], grids[0].rows[4][9], grids[0].rows[5][5] = IDS[0] * 2, "4.11481199001011234E17", FULL_WIDTH_ID
    for row in (3, 4, 5):
        grids[0].intact[row] = False
    return _openpyxl_case("found/ids_elsewhere", grids)


def cases() -> st.SearchStrategy[Case]:
    """Every kind of case, weighted towards mutations of a valid delivery (they reach the rows)."""
    return st.one_of(
        csv_cells(),
        csv_cells(),
        csv_bytes(),
        csv_scratch(),
        xlsx_cells(),
        xlsx_cells(),
        xlsx_raw(),
        damaged_bytes(),
    )
