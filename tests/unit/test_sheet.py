"""Header detection and row parsing against the microcredit contract's 汇总 section."""

from include.ingest.contract import contracts
from include.ingest.sheet import parse_sheet

SECTION = contracts()["microcredit"].section("control_totals")
HEADER = [
    "县(市、区)",
    "享受政策的已脱贫户数",
    "享受政策的监测户数",
    "目前总贷款余额户数",
    "当年新增户数",
    "当年新增户贷率",
    "总贷款余额户贷率",
    "排名",
]
ROW = ["永城市", 4011.0, 447.0, 1088.0, 1088.0, "24.41%", "24.41%", 4.0]


def parse(rows):
    return parse_sheet(SECTION, rows, b"test-key")


def test_merged_title_rows_are_skipped_and_their_month_is_read():
    result = parse([["商丘市脱贫人口小额信贷通报表（2021年12月）"], [], HEADER, ROW])
    assert result.header_row == 3
    assert result.months == {"2021-12-01"}
    assert result.records[0][:3] == ["411481", "永城市", "4011"]
    assert result.records[0][-2:] == ["汇总", "4"]


def test_a_repeated_header_block_mid_sheet_is_skipped_with_a_note():
    result = parse([HEADER, ROW, HEADER, ROW])
    assert len(result.records) == 2
    assert [(f.rule, f.row) for f in result.findings] == [("repeated_header", 3)]


def test_the_seeds_own_duplicated_headers_are_findings():
    printed = [
        "县(市、区)",
        "享受政策的已脱贫户数",
        "享受政策的监测户数",
        "目前总贷款余额户数",
        "当年新增户数",
        "总贷款新增户数",
        "总贷款余额户数",
        "总贷款余额户数",
        "排名",
    ]
    result = parse([printed, ["永城市", 4011, 447, 1088, 1088, "24.41%", "24.41%", "24.41%", 4]])
    rules = [(f.rule, f.column) for f in result.findings]
    assert ("unknown_header", "总贷款新增户数") in rules
    assert ("duplicate_header", "总贷款余额户数") in rules


def test_a_missing_required_column_rejects_the_sheet():
    result = parse([HEADER[:3] + HEADER[4:], ROW[:3] + ROW[4:]])
    assert not result.records
    (finding,) = [f for f in result.findings if f.rule == "missing_column"]
    assert "目前总贷款余额户数" in finding.expected and finding.row == 1


def test_a_bad_cell_rejects_its_row_with_a_precise_finding():
    result = parse([HEADER, ROW, ["某某县", *ROW[1:]], [ROW[0], "四千", *ROW[2:]]])
    assert len(result.records) == 1
    found = {(f.rule, f.row, f.column) for f in result.findings}
    assert found == {("bad_county", 3, "县(市、区)"), ("bad_count", 4, "享受政策的已脱贫户数")}


def test_a_blank_optional_date_or_enum_is_null_not_an_error():
    from include.ingest.contract import Column
    from include.ingest.convert import convert_cell

    date = Column("closed_on", "date", False, {"结清日期": None})
    kind = Column("kind", "enum", False, {"类别": None}, ("甲", "乙"))
    assert convert_cell(date, None, "", b"k") == (None,)
    assert convert_cell(kind, None, "", b"k") == (None,)
    required = Column("kind", "enum", True, {"类别": None}, ("甲", "乙"))
    try:
        convert_cell(required, None, "", b"k")
    except ValueError:
        pass
    else:
        raise AssertionError("a blank required enum must not convert")
