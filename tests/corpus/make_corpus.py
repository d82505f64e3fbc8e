"""Write the malformed-file corpus: ``python tests/corpus/make_corpus.py`` (from the repository root).

Every file is a delivery of the test feed ``ingest_test`` (tests/ingest/contracts/ingest_test.yml,
the microcredit columns plus a kWh column) for January 2022, small, and byte-for-byte
deterministic: re-running the script rewrites the same bytes. ``expected.yml`` beside it is
written by hand: it says what the loader must find in each file, so it is not generated here.

The functions are also used by the ingestion tests to build deliveries of other months.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import struct
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from include.ingest.ids import check_digit  # noqa: E402
from samples import microcredit  # noqa: E402
from samples.common import cell, column_letter, package_parts, resident_id  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "ingest_test"
LEAGUE = ROOT / "dbt_project" / "seeds" / "ref_microcredit_league_2021_12.csv"  # the printed league table
FEED = "ingest_test"
MONTH = dt.date(2022, 1, 1)
STAMP = (2022, 2, 5, 9, 0, 0)
Row = Sequence[object]

# The microcredit template's headers (the test contract reuses its columns).
DETAIL_HEADER = list(microcredit.DETAIL_HEADER)
TOTALS_HEADER = list(microcredit.TOTALS_HEADER)
_RNG = random.Random("ingest-corpus")
_TAKEN: set[str] = set()
IDS = [resident_id(_RNG, region, _TAKEN) for region in ("411481", "411422", "411426", "411402", "411421")]


def title(kind: str, month: dt.date = MONTH) -> str:
    return f"商丘市脱贫人口小额信贷{kind}（{month.year}年{month.month}月）"


def detail_rows(month: dt.date = MONTH) -> list[list[object]]:
    """Three clean loan accounts."""
    m = f"{month:%Y-%m}"
    accounts = [
        ("永城市", "乡镇01", "村001", IDS[0], "已脱贫户", "41148100000001", "农商银行", "2021-03-05", "2024-03-05"),
        ("睢县", "乡镇02", "村002", IDS[1], "监测户", "41142200000002", "邮储银行", "2021-06-10", "2024-06-10"),
        ("夏邑县", "乡镇03", "村003", IDS[2], "已脱贫户", "41142600000003", "农业银行", "2020-11-20", "2023-11-20"),
    ]
    amounts: list[tuple[object, ...]] = [(3.5, 3.5, "—", m), (5, 4.2, 0.8, m), (2, 0.5, 0.5, m)]
    return [[*account, *amount] for account, amount in zip(accounts, amounts, strict=True)]


def totals_rows() -> list[list[object]]:
    """Two counties and the city row, as the 通报表 prints them."""
    return [
        ["永城市", 4011, 447, 1088, 1088, "24.41%", "24.41%", 1],
        ["睢县", 2315, 301, 498, 471, "18.00%", "19.04%", 2],
        ["商丘市", 6326, 748, 1586, 1559, "22.04%", "22.42%", ""],
    ]


def league_rows() -> list[list[object]]:
    """The rows of the published league table (the seed), as numbers: counts whole, rates in percent."""
    with LEAGUE.open(encoding="utf-8", newline="") as seed:
        rows = list(csv.DictReader(seed))
    counts = ("lifted_households", "monitored_households", "balance_households", "new_households")
    rates = ("new_household_rate_pct", "balance_household_rate_pct")
    return [
        [
            row["county_name"],
            *(int(row[c]) for c in counts),
            *(float(row[r]) for r in rates),
            int(row["rank"]) if row["rank"] else "",
        ]
        for row in rows
    ]


def detail_sheet(rows: list[list[object]] | None = None, month: dt.date = MONTH) -> list[Row]:
    return [[title("明细表", month)], DETAIL_HEADER, *(detail_rows(month) if rows is None else rows)]


def totals_sheet(rows: list[list[object]] | None = None, month: dt.date = MONTH) -> list[Row]:
    return [[title("通报表", month)], TOTALS_HEADER, *(totals_rows() if rows is None else rows)]


# --- writers -----------------------------------------------------------------------------------

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def sheet_xml(rows: Sequence[Row], merges: Sequence[str] = ()) -> str:
    """A worksheet: one <row> per row (blank rows left out, as Excel does), inline strings."""
    body = "".join(
        f'<row r="{r}">' + "".join(cell(f"{column_letter(c + 1)}{r}", v) for c, v in enumerate(row)) + "</row>"
        for r, row in enumerate(rows, start=1)
        if any(v not in (None, "") for v in row)
    )
    merged = "".join(f'<mergeCell ref="{ref}"/>' for ref in merges)
    tail = f'<mergeCells count="{len(merges)}">{merged}</mergeCells>' if merges else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>{body}</sheetData>{tail}</worksheet>'


def workbook_parts(sheets: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The package parts of a workbook whose sheets are (name, worksheet XML)."""
    return {
        **package_parts([name for name, _ in sheets]),
        **{f"xl/worksheets/sheet{i}.xml": xml for i, (_, xml) in enumerate(sheets, 1)},
    }


def write_zip(path: Path, parts: dict[str, str | bytes], method: int = zipfile.ZIP_DEFLATED) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=STAMP)
            info.compress_type = method
            archive.writestr(info, data)


def xlsx(path: Path, sheets: Sequence[tuple[str, Sequence[Row]]], merges: dict[str, list[str]] | None = None) -> None:
    """A workbook of (sheet name, rows); ``merges`` gives merged ranges per sheet."""
    merges = merges or {}
    write_zip(path, dict(workbook_parts([(name, sheet_xml(rows, merges.get(name, ()))) for name, rows in sheets])))


def standard(path: Path, detail: Sequence[Row] | None = None, totals: Sequence[Row] | None = None) -> None:
    """A workbook with 明细 and 汇总, each with a merged title row."""
    sheets = [
        ("明细", detail_sheet() if detail is None else detail),
        ("汇总", totals_sheet() if totals is None else totals),
    ]
    xlsx(path, sheets, {"明细": ["A1:M1"], "汇总": ["A1:H1"]})


def csv_text(rows: Sequence[Row]) -> str:
    """CSV as Excel writes it: CRLF, quotes only where needed."""
    lines = []
    for row in rows:
        cells = []
        for value in row:
            text = "" if value is None else str(value)
            if any(mark in text for mark in (",", '"', "\n", "\r")):
                text = '"' + text.replace('"', '""') + '"'
            cells.append(text)
        lines.append(",".join(cells))
    return "\r\n".join(lines) + "\r\n"


def csv_pair(folder: Path, stem: str, detail: str, totals: str, encoding: str = "utf-8") -> None:
    """A CSV pair ``<stem>_明细.csv`` and ``<stem>_汇总.csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}_明细.csv").write_bytes(detail.encode(encoding))
    (folder / f"{stem}_汇总.csv").write_bytes(totals.encode(encoding))


def name(case: str, suffix: str = ".xlsx", month: dt.date = MONTH) -> str:
    """A file name of the feed for ``month``, the case after the month."""
    return f"小额信贷_{month:%Y-%m}_{case}{suffix}"


def check_digit_id(first17: str) -> str:
    """Seventeen digits completed with their GB 11643 check character."""
    return first17 + check_digit(first17)


def with_column(
    rows: list[list[object]], header: list[str], position: int, head: str, values: list[object]
) -> tuple[list[str], list[list[object]]]:
    """``header`` and ``rows`` with a column inserted at ``position``."""
    return (
        [*header[:position], head, *header[position:]],
        [[*row[:position], value, *row[position:]] for row, value in zip(rows, values, strict=True)],
    )


# --- the corpus ----------------------------------------------------------------------------------


def build(folder: Path = CORPUS) -> list[Path]:
    """Write every corpus file into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    out = folder

    # A clean workbook: the baseline that the corpus cases are loaded on top of.
    standard(out / name("clean"))

    # Merged title rows: two merged rows and a blank one above the header (at row 4).
    xlsx(
        out / name("merged_title"),
        [
            ("明细", [[title("明细表")], ["单位：万元、户"], [], DETAIL_HEADER, *detail_rows()]),
            ("汇总", totals_sheet()),
        ],
        {"明细": ["A1:M1", "A2:M2"], "汇总": ["A1:H1"]},
    )

    # The header block printed again mid-sheet (after a page break), with blank rows around it.
    rows = detail_rows()
    xlsx(
        out / name("repeated_header"),
        [
            ("明细", [[title("明细表")], DETAIL_HEADER, rows[0], [], DETAIL_HEADER, rows[1], rows[2]]),
            ("汇总", totals_sheet()),
        ],
    )

    # The same header twice, and two headers (万元 and 元) for one column: copies of the first, one loaded.
    header = [*DETAIL_HEADER, "贷款余额(万元)"]
    rows = [[*row, row[10]] for row in detail_rows()]
    header2, rows2 = with_column(rows, header, 10, "贷款金额(元)", ["35,000", 50000, "20000元"])
    xlsx(out / name("duplicate_header"), [("明细", [[title("明细表")], header2, *rows2]), ("汇总", totals_sheet())])

    # The same header twice over different values: which one holds the balance cannot be told.
    rows = [[*row, 9.9] for row in detail_rows()]
    xlsx(out / name("conflicting_columns"), [("明细", [[title("明细表")], header, *rows]), ("汇总", totals_sheet())])

    # The league table's 汇总 exactly as the city printed it (the rows of the seed
    # ref_microcredit_league_2021_12.csv): 总贷款新增户数 over the new-household rate, 总贷款余额户数 over
    # the balance count and again over the balance rate. The rates are read as rates by their content.
    printed = [*TOTALS_HEADER[:3], "总贷款余额户数", "当年新增户数", "总贷款新增户数", "总贷款余额户数", "排名"]
    xlsx(
        out / name("league_table_as_printed"),
        [("明细", detail_sheet()), ("汇总", [[title("通报表")], printed, *league_rows()])],
    )

    # An unknown column (备注) and the seed's own mislabelled and duplicated 汇总 headers.
    header, rows = with_column(detail_rows(), DETAIL_HEADER, 13, "备注", ["", "展期", ""])
    totals_header = [*TOTALS_HEADER[:5], "总贷款新增户数", "总贷款余额户数", "总贷款余额户数", "排名"]
    totals = [[*row[:7], row[6], row[7]] for row in totals_rows()]
    xlsx(
        out / name("unknown_and_mislabelled_headers"),
        [("明细", [[title("明细表")], header, *rows]), ("汇总", [[title("通报表")], totals_header, *totals])],
    )

    # A resident ID pasted into the header row: reported, but never shown.
    header, rows = with_column(detail_rows(), DETAIL_HEADER, 13, IDS[3], ["", "", ""])
    standard(out / name("id_in_header"), [[title("明细表")], header, *rows])

    # A required column missing (户类型).
    xlsx(
        out / name("missing_required_column"),
        [
            (
                "明细",
                [[title("明细表")], DETAIL_HEADER[:4] + DETAIL_HEADER[5:], *(r[:4] + r[5:] for r in detail_rows())],
            ),
            ("汇总", totals_sheet()),
        ],
    )

    # No header row anywhere in the first 20 rows of 明细.
    xlsx(out / name("no_header"), [("明细", [["说明"], ["本表数据另行报送"]]), ("汇总", totals_sheet())])

    # Percent strings, a bare fraction, a dash and a malformed percentage in 汇总.
    totals = totals_rows()
    totals[0][5:7] = ["24.41 %", 0.2441]
    totals[1][5:7] = ["—", "19.04%%"]
    standard(out / name("percent_strings"), totals=totals_sheet(totals))

    # Thousands separators in counts and amounts (amounts in 元 here).
    header = [*DETAIL_HEADER[:9], "贷款金额(元)", "贷款余额(元)", "当月还款(元)", "统计月份"]
    rows = detail_rows()
    rows[0][9:12] = ["35,000", "1,234,567.50", "2,000"]
    totals = totals_rows()
    totals[0][1:5] = ["4,011", "447", "1,088", "1,088"]
    standard(out / name("thousands_separators"), [[title("明细表")], header, *rows], totals_sheet(totals))

    # Dashes and blanks for zero.
    rows = detail_rows()
    rows[0][11], rows[1][11], rows[2][11] = "-", "", "无"
    totals = totals_rows()
    totals[0][2], totals[1][2] = "—", ""
    standard(out / name("dash_and_blank_as_zero"), detail_sheet(rows), totals_sheet(totals))

    # Units: 元 header with 万元 / 亿元 cells, kWh in 万千瓦时 with 度 cells, and two wrong units.
    header = [*DETAIL_HEADER[:9], "贷款金额(元)", "贷款余额(万元)", "当月还款(万元)", "上网电量(万千瓦时)", "统计月份"]
    rows = [[*row[:12], kwh, row[12]] for row, kwh in zip(detail_rows(), [1.2, "1200度", "0.5亿千瓦时"], strict=True)]
    rows[0][9], rows[1][9], rows[2][9] = "35000", "3.5万元", "0.0002亿元"
    bad = detail_rows()[0]
    bad[3], bad[5] = IDS[3], "41140200000004"
    rows.append([*bad[:9], "3.5美元", 1, "—", "3万元", bad[12]])
    standard(out / name("units"), [[title("明细表")], header, *rows])

    # County names as departments write them, and two that name no county of 商丘.
    variants = ["睢 县", "睢\u3000县", "商丘市睢县", "城乡一体化示范区", "河南省商丘市永城市", "郑州市", "某某县"]
    rows = []
    for i, county in enumerate(variants):
        row = detail_rows()[i % 3]
        row[0], row[5] = county, f"4114000000{i:04d}"
        row[3] = IDS[i % 5]
        rows.append(row)
    standard(out / name("county_names"), detail_sheet(rows))

    # The title names December 2021; the file name says January 2022.
    standard(
        out / name("title_month_mismatch"),
        detail_sheet(),
        [[title("通报表", dt.date(2021, 12, 1))], TOTALS_HEADER, *totals_rows()],
    )

    # The month column says 2021-12.
    standard(out / name("month_column_mismatch"), detail_sheet([[*row[:12], "2021-12"] for row in detail_rows()]))

    # Resident IDs: wrong length, bad check digit, another region, impossible birth dates (month 13,
    # 31 February, born after the delivery's month: far in the future and the month after), and two
    # written oddly but valid (lower-case x, full-width digits).
    rows = detail_rows()
    first17 = IDS[1][:17]
    wrong_check = first17 + ("0" if IDS[1][17] != "0" else "1")
    lower_x = next(
        check_digit_id(f"41142219800101{n:03d}")
        for n in range(1000)
        if check_digit_id(f"41142219800101{n:03d}").endswith("X")
    ).lower()
    extra = [
        IDS[0][:17],
        wrong_check,
        check_digit_id("11010519491231002"),
        check_digit_id("41142219901301123"),
        check_digit_id("41142219490231123"),
        check_digit_id("41142220790403123"),
        check_digit_id("41142220220201123"),
        lower_x,
        "".join(chr(ord(c) + 0xFEE0) for c in IDS[4]),
    ]
    for i, value in enumerate(extra):
        row = detail_rows()[i % 3]
        row[3], row[5] = value, f"4114220000{i:04d}"
        rows.append(row)
    standard(out / name("resident_ids"), detail_sheet(rows))

    # An ID printed in the account-number column (the columns were shifted by hand).
    rows = detail_rows()
    rows[2][5] = IDS[4]
    standard(out / name("id_in_text_column"), detail_sheet(rows))

    # Blank required cells, a bad date and an unknown household type.
    rows = detail_rows()
    rows[0][4] = ""
    rows[1][7] = "2021-02-30"
    rows[2][4] = "脱贫户"
    extra_row = detail_rows()[0]
    extra_row[3], extra_row[5] = IDS[3], "41140200000009"
    rows.append(extra_row)
    standard(out / name("bad_cells"), detail_sheet(rows))

    # Sheet names with stray spaces are still the sheets of the contract.
    xlsx(out / name("sheet_name_spaces"), [(" 明细 ", detail_sheet()), ("汇总 ", totals_sheet())])

    # A missing sheet: only 明细, plus an unrelated one.
    xlsx(out / name("missing_sheet"), [("明细", detail_sheet()), ("Sheet2", [["备用"]])])

    # A header and no data rows.
    standard(out / name("no_data_rows"), detail_sheet([]))

    # Every data row rejected (no county of 商丘).
    rows = detail_rows()[:2]
    rows[0][0], rows[1][0] = "郑州市", "开封市"
    standard(out / name("all_rows_rejected"), detail_sheet(rows))

    # An empty file.
    (out / name("empty")).write_bytes(b"")

    # A workbook cut off in transit (its zip directory lost).
    whole = out / name("clean")
    (out / name("truncated")).write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])

    # Not a workbook: CSV text saved as .xlsx, and an old .xls.
    (out / name("csv_named_xlsx")).write_bytes(csv_text(totals_sheet()).encode("gbk"))
    (out / name("old_xls")).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))

    # A damaged member: one flipped bit in the stored 明细 sheet (its CRC no longer matches).
    parts = workbook_parts([("明细", sheet_xml(detail_sheet())), ("汇总", sheet_xml(totals_sheet()))])
    path = out / name("corrupt_member")
    write_zip(path, dict(parts), method=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    data[data.find(b"<sheetData>") + 3] ^= 0x01
    path.write_bytes(bytes(data))

    # A zip bomb: 12 MiB of blanks deflated to a few KiB in a sheet.
    bomb = dict(workbook_parts([("明细", sheet_xml(detail_sheet())), ("汇总", sheet_xml(totals_sheet()))]))
    bomb["xl/worksheets/sheet1.xml"] = " " * (12 * 1024**2)
    write_zip(out / name("zip_bomb"), bomb)

    # A bomb by its directory alone: a member that claims 3 GiB. Its data is a few bytes, so
    # only a reader that trusts the directory without inflating refuses it as a bomb.
    path = out / name("zip_bomb_declared")
    write_zip(path, dict(parts))
    _declare_size(path, "xl/worksheets/sheet1.xml", 3 * 1024**3)

    # --- CSV pairs ---
    detail, totals = csv_text(detail_sheet()), csv_text(totals_sheet())
    csv_pair(out, name("bom", ""), "\ufeff" + detail, "\ufeff" + totals)
    csv_pair(out, name("gbk", ""), detail, totals, encoding="gbk")
    rows = detail_rows()
    rows[1][2] = "村002\n(东)"
    rows[2][1] = 'a\tb\\c "q"'
    csv_pair(out, name("quoted_cells", ""), csv_text(detail_sheet(rows)), totals)
    stem = name("undecodable", "")
    csv_pair(out, stem, detail, totals)
    broken = (out / f"{stem}_明细.csv").read_bytes().replace("村002".encode(), b"\xff\xfe002")
    (out / f"{stem}_明细.csv").write_bytes(broken)
    csv_pair(out, name("utf16", ""), detail, totals, encoding="utf-16")
    stem = name("nul_byte", "")
    csv_pair(out, stem, detail, totals)
    (out / f"{stem}_汇总.csv").write_bytes(totals.encode().replace("睢县".encode(), "睢县".encode() + b"\x00"))
    csv_pair(out, name("cut_mid_row", ""), detail[: detail.rindex("\r\n", 0, -2) + 2] + "夏邑县,乡镇03,村0", totals)
    rows = detail_rows()
    rows[2][2] = "村003,东"
    text = csv_text(detail_sheet(rows))
    csv_pair(out, name("cut_in_quotes", ""), text[: text.index('"村003') + 5], totals)
    (out / f"{name('lonely', '')}_明细.csv").write_bytes(detail.encode())
    stem = name("empty_totals", "")
    csv_pair(out, stem, detail, totals)
    (out / f"{stem}_汇总.csv").write_bytes(b"")
    return sorted(out.iterdir())


def _declare_size(path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size that the zip directory (and local header) declare for ``member``."""
    data = bytearray(path.read_bytes())
    encoded = member.encode()
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_length] == encoded:
            struct.pack_into("<I", data, central + 24, size)
            local = struct.unpack_from("<I", data, central + 42)[0]
            struct.pack_into("<I", data, local + 22, size)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


if __name__ == "__main__":
    written = build()
    print(f"{len(written)} files in {CORPUS.relative_to(ROOT)}")
