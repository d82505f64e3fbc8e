"""The column-at-a-time conversions give exactly what the scalar parsers give, cell by cell."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
from decimal import Decimal

import numpy as np
import pytest

from include.ingest import convert, ids, values
from include.ingest.contract import Column, contracts
from include.ingest.sheet import parse_sheet
from samples.common import resident_id

RNG_SEED = 20220101
MESSY = {
    "county": [
        "睢 县",
        "睢\u3000县",
        "商丘市睢县",
        "城乡一体化示范区",
        "永城市",
        "郑州市",
        "某某县",
        "",
        "商丘市",
        "ＮＯ",
    ],
    "text": ["", "乡镇01", "a\tb", "c\\d", "x" * 40],
    "enum": ["已脱贫户", "监测户", "脱贫户", ""],
    "date": ["2021-03-05", "2021/3/5", "2021年3月5日", "20210305", "", "2021-02-30", "44000", "2021-03-05T00:00:00"],
    "month": ["2021-12", "2021年12月", "202112", "2021-12-31", "", "2021-13", "12月"],
    "rate": ["24.41%", "0.2441", "—", "", "24.41 %", "19.04%%", "1.5", "-0.5", "100%", "abc"],
    "rank": ["1", "", "0", "2.0", "-1", "1.5", "x"],
}
NUMBERS = [
    "0", "-0", "-0.0", "00.000", "5.", ".5", "-.5", "+5", "1,234.50", "1,2,3", " 1 2 ", "1e3", "1_000", "NaN",
    "inf", "—", "-", "", "无", "/", "3.5万元", "2.4亿元", "3.50元", "1200度", "0.5亿千瓦时", "3万元", "美元", "abc",
    "1" * 28, "1" * 29, "9" * 28 + ".5", "0." + "0" * 30 + "1", "-12.30", "٣", "12345678901234567890",
]  # fmt: skip


def column(kind: str, required: bool = False) -> Column:
    return Column(name="c", type=kind, required=required, aliases={"c": None}, values=("已脱贫户", "监测户"))


def scalar(col: Column, unit: str | None, texts: list[str], key: bytes) -> tuple[list[tuple], list[str | None]]:
    cells, problems = [], []
    width = len(col.raw_columns())
    for text in texts:
        try:
            cells.append(tuple(convert.convert_cell(col, unit, text, key)))
            problems.append(None)
        except ValueError as error:
            cells.append((None,) * width)
            problems.append(str(error))
    return cells, problems


def vectorised(col: Column, unit: str | None, texts: list[str], key: bytes) -> tuple[list[tuple], list[str | None]]:
    result = convert.convert(col, unit, np.array(texts, dtype=object), key)
    return list(zip(*(array.tolist() for array in result.values), strict=True)), result.problem.tolist()


@pytest.mark.parametrize("kind", sorted(MESSY))
def test_distinct_value_columns_match_the_scalar_parsers(kind):
    rng = random.Random(RNG_SEED)
    texts = [rng.choice(MESSY[kind]) for _ in range(500)]
    col = column(kind)
    assert vectorised(col, None, texts, b"k") == scalar(col, None, texts, b"k")


NUMBER_COLUMNS = [
    ("number", None),
    ("count", None),
    ("amount", "万元"),
    ("amount", None),
    ("amount", "美元"),
    ("quantity", "万千瓦时"),
    ("quantity", None),
]


@pytest.mark.parametrize(("kind", "unit"), NUMBER_COLUMNS)
def test_number_columns_match_the_scalar_parsers(kind, unit):
    rng = random.Random(RNG_SEED)
    texts = [rng.choice(NUMBERS) for _ in range(300)] + [f"{rng.uniform(-1e6, 1e6):,.2f}" for _ in range(300)]
    col = column(kind)
    assert vectorised(col, unit, texts, b"k") == scalar(col, unit, texts, b"k")


def test_fast_plain_is_the_decimal_canonical_form():
    rng = random.Random(RNG_SEED)
    alphabet = "0123456789,. -+e٣"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(20_000)] + NUMBERS
    hits = 0
    for text in texts:
        fast = values.fast_plain(text)
        if fast is None:
            continue
        hits += 1
        assert fast == values._plain(Decimal(text.replace(",", "").replace(" ", ""))), text
    assert hits > 3_000


def test_resident_ids_match_validate_and_pseudonymise():
    rng = random.Random(RNG_SEED)
    taken: set[str] = set()
    valid = [resident_id(rng, rng.choice(["411422", "411481", "411402"]), taken) for _ in range(300)]
    odd = [
        valid[0][:17],
        valid[1][:17] + ("0" if valid[1][17] != "0" else "1"),
        "11010519491231002X",
        "41142219901301123" + ids.check_digit("41142219901301123"),
        "41142219800101007x",
        "４１１４" + valid[2][4:],
        "",
        "41142219900101123A",
        "4114221990010112345",
        "411422199001011２3" + "4",
    ]
    texts = [rng.choice(valid + odd) for _ in range(1_000)]
    col = column("resident_id")
    assert vectorised(col, None, texts, b"key") == scalar(col, None, texts, b"key")
    problems = vectorised(col, None, texts, b"key")[1]
    assert {p for p in problems if p} >= {
        "a valid resident ID (18 characters expected, found 17)",
        "a valid resident ID (GB 11643 check digit does not match)",
        "a valid resident ID (region prefix 4114xx expected, found 110105)",
        "a valid resident ID (birth date in positions 7-14 is not a calendar date)",
    }


def test_birth_dates_must_be_calendar_dates_not_after_the_delivery_month():
    """Vectorised and scalar validation agree on every birth date, judged here by the calendar itself."""
    born_by = dt.date(2022, 1, 31)
    births = ["19490231", "19000229", "20000229", "19990229", "18991231", "19000101", "19800431", "19800430",
              "20220131", "20220201", "20790403", "19801200", "19800132"]  # fmt: skip
    texts = [f"411422{birth}123" + ids.check_digit(f"411422{birth}123") for birth in births]
    many = ids.pseudonymise_many(texts, b"key", born_by=born_by)
    for birth, text, problem in zip(births, texts, many.problem.tolist(), strict=True):
        assert problem == ids.validate(text, born_by=born_by), birth
        try:
            real = dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
        except ValueError:
            real = None
        acceptable = real is not None and dt.date(1900, 1, 1) <= real <= born_by
        assert (problem is None) == acceptable, (birth, problem)
        if real and real > born_by:
            assert problem == "birth date in positions 7-14 is after the delivery's month (2022-01)"
    assert ids.validate(texts[births.index("20790403")]) is None, "without a delivery month, only the calendar"
    assert ids.validate(texts[births.index("19490231")]) == "birth date in positions 7-14 is not a calendar date"


@pytest.mark.parametrize("key", [b"", b"k", b"x" * 64, b"y" * 65, b"z" * 200])
def test_hasher_is_hmac_sha256(key):
    for value in ("411422199001011234", "41142219800101007X"):
        assert ids.Hasher(key).hexdigest(value) == hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def test_id_shaped_values_are_found_and_redacted():
    texts = ["411422199001011234", "ID:41142219800101007X;", "41148100000001", "4114221990010112345", "a" * 30]
    assert ids.looks_like_id(np.array(texts, dtype=object)).tolist() == [True, True, False, False, False]
    assert ids.redact("小额信贷_411422199001011234.xlsx") == "小额信贷_<ID withheld>.xlsx"


def test_a_frame_parses_like_the_same_rows_as_lists():
    import pandas as pd

    section = contracts()["microcredit"].section("detail")
    header = [
        "县(市、区)",
        "借款人身份证号",
        "户类型",
        "贷款账号",
        "放款日期",
        "贷款金额(万元)",
        "贷款余额(万元)",
        "统计月份",
    ]
    first17 = "41142219900101123"
    rows: list[list[object]] = [
        ["明细表（2021年12月）"],
        header,
        ["睢 县", first17 + ids.check_digit(first17), "监测户", "1", dt.datetime(2021, 3, 5), 3.5, "—", "2021-12"],
        [],
        header,
        ["某某县", "123", "", "2", "2021-02-30", "x", 1.0, "2021-12"],
    ]
    as_lists = parse_sheet(section, rows, b"k")
    width = max(len(row) for row in rows)
    frame = pd.DataFrame([row + [""] * (width - len(row)) for row in rows], dtype=object)
    as_frame = parse_sheet(section, frame, b"k")
    assert as_frame.records == as_lists.records and as_frame.findings == as_lists.findings
    assert len(as_lists.records) == 1 and as_lists.records[0][0] == "411422"
    assert [f.rule for f in as_lists.findings] == [
        "repeated_header",
        "bad_county",
        "bad_resident_id",
        "required_blank",
        "bad_date",
        "bad_amount",
    ]


@pytest.mark.parametrize("rows", [1, 2, 3, 7])
def test_blocks_of_any_size_give_the_same_sheet(rows):
    from include.ingest.sheet import combine, plan_sheet
    from tests.corpus import make_corpus as corpus

    section = contracts()["microcredit"].section("detail")
    body = [row for _ in range(3) for row in corpus.detail_rows()]  # nine distinct lists
    body[1][0], body[4][7], body[6][3] = "某某县", "2021-02-30", "123"
    sheet_rows = [[corpus.title("明细表")], corpus.DETAIL_HEADER, *body[:4], [], corpus.DETAIL_HEADER, *body[4:]]
    whole = parse_sheet(section, sheet_rows, b"k")
    plan = plan_sheet(section, sheet_rows)
    blocked = combine(plan, list(plan.blocks(b"k", rows=rows)))
    assert blocked.records == whole.records and blocked.findings == whole.findings
    assert blocked.months == whole.months == {"2022-01-01"}
    assert [f.rule for f in whole.findings] == ["bad_county", "repeated_header", "bad_date", "bad_resident_id"]
    assert len(whole.records) == 6
