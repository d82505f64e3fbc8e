"""Header detection and row parsing against the microcredit contract's 汇总 section."""

from include.ingest.contract import contracts
from include.ingest.sheet import parse_sheet

SECTION = contracts()["microcredit"].section("control_totals")
HEADER = [next(iter(column.aliases)) for column in SECTION.columns]  # each column's first header, as printed
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


# The league table as the city printed it: rates under count headers, 总贷款余额户数 twice.
PRINTED = [
    "县(市、区)",
    "享受政策的已脱贫户数",
    "享受政策的监测户数",
    "总贷款余额户数",
    "当年新增户数",
    "总贷款新增户数",
    "总贷款余额户数",
    "排名",
]
PRINTED_ROWS = [
    ["永城市", 4011, 447, 1088, 1088, 24.41, 24.41, 4],
    ["夏邑县", 50144, 728, 11671, 9953, 19.56, 22.94, 7],
    ["商丘市", 215511, 4051, 51531, 48059, 21.89, 23.47, ""],
]


def frame_of(result):
    return result.frame.set_index("_row_number")


def test_rates_under_count_headers_are_read_as_rates_with_a_finding():
    result = parse([PRINTED, *PRINTED_ROWS])
    assert [(f.rule, f.severity, f.row, f.column, f.expected, f.found) for f in result.findings] == [
        (
            "mislabelled_column",
            "warn",
            1,
            "总贷款新增户数",
            "new_households (a count), as the header says",
            "rates: every value is a rate, none a count (e.g. '24.41'); read as new_household_rate",
        ),
        (
            "mislabelled_column",
            "warn",
            1,
            "总贷款余额户数",
            "balance_households (a count), as the header says",
            "rates: every value is a rate, none a count (e.g. '24.41'); read as balance_household_rate",
        ),
    ]
    frame = frame_of(result)
    assert frame.loc["3", "balance_households"] == "11671" and frame.loc["3", "new_households"] == "9953"
    assert frame.loc["3", "new_household_rate"] == "19.56" and frame.loc["3", "balance_household_rate"] == "22.94"
    assert frame.loc["4", "balance_household_rate"] == "23.47" and frame.loc["4", "rank"] == ""


def test_percent_strings_and_zero_dashes_under_a_count_header_are_rates():
    rows = [[*row[:5], f"{row[5]}%", "—" if i == 1 else row[6], row[7]] for i, row in enumerate(PRINTED_ROWS)]
    result = parse([PRINTED, *rows])
    assert [(f.rule, f.column) for f in result.findings] == [
        ("mislabelled_column", "总贷款新增户数"),
        ("mislabelled_column", "总贷款余额户数"),
    ]
    assert "(e.g. '24.41%')" in result.findings[0].found
    frame = frame_of(result)
    assert frame.loc["3", "new_household_rate"] == "19.56" and frame.loc["3", "balance_household_rate"] == "0"


def test_counts_under_a_rate_header_are_read_as_the_count_it_names():
    header = [*HEADER[:4], "当年新增户贷率", *HEADER[6:]]  # no 当年新增户数: the rate's header is over the counts
    rows = [[*row[:4], row[4], row[6], row[7]] for row in PRINTED_ROWS]
    result = parse([header, *rows])
    (finding,) = result.findings
    assert (finding.rule, finding.column, finding.expected) == (
        "mislabelled_column",
        "当年新增户贷率",
        "new_household_rate (a rate), as the header says",
    )
    assert finding.found == "counts: every value is a count, none a rate (e.g. '1088'); read as new_households"
    assert frame_of(result).loc["3", "new_households"] == "9953"


def test_a_count_column_with_one_bad_cell_is_not_mislabelled():
    rows = [[*row[:4], "1088.5" if i == 0 else row[4], *row[5:]] for i, row in enumerate(PRINTED_ROWS)]
    result = parse([HEADER, *rows])
    assert [(f.rule, f.row, f.column) for f in result.findings] == [("bad_count", 2, "当年新增户数")]


def test_a_column_printed_twice_with_the_same_values_is_loaded_once():
    header = [*HEADER, "当年新增户数"]
    rows = [[*row, row[4]] for row in PRINTED_ROWS]
    result = parse([header, *rows])
    assert [(f.rule, f.severity, f.column, f.expected, f.found) for f in result.findings] == [
        (
            "duplicate_column",
            "warn",
            "当年新增户数",
            "one column for new_households",
            "the same values as column 5 in every row; column 9 ignored",
        )
    ]
    assert len(result.records) == 3 and frame_of(result).loc["3", "new_households"] == "9953"


def test_a_column_printed_twice_with_different_values_stops_the_sheet():
    header = [*HEADER, "当年新增户数"]
    rows = [[*row, row[4] + (i == 2)] for i, row in enumerate(PRINTED_ROWS)]
    result = parse([header, *rows])
    assert not result.records
    assert [(f.rule, f.severity, f.row, f.column, f.expected, f.found) for f in result.findings] == [
        (
            "conflicting_columns",
            "error",
            1,
            "当年新增户数",
            "one column for new_households",
            "columns 5 and 9 both read as new_households and differ in 1 row (first in row 4); the sheet is not loaded",
        )
    ]


def test_the_seeds_own_duplicated_headers_are_resolved():
    printed = [*HEADER[:5], "总贷款新增户数", "总贷款余额户数", "总贷款余额户数", "排名"]
    result = parse([printed, ["永城市", 4011, 447, 1088, 1088, "24.41%", "24.41%", "24.41%", 4]])
    assert [(f.rule, f.column) for f in result.findings] == [
        ("mislabelled_column", "总贷款新增户数"),
        ("mislabelled_column", "总贷款余额户数"),
        ("duplicate_column", "总贷款余额户数"),
    ]
    assert result.findings[2].expected == "one column for balance_household_rate"
    assert result.records[0][2:9] == ["4011", "447", "1088", "1088", "24.41", "24.41", "4"]


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
