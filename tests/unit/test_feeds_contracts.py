"""Every department feed has a contract, and its sample reads back through the ingestion parser cleanly.

The samples are generated at scale 0.01 for January and December and read with the project's own
parser (``include.ingest.load``): no error findings, one row per county plus 商丘市 in 汇总, and the
汇总 equal to what the parsed detail adds up to.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from include import config
from include.ingest.contract import COLUMN_TYPES, contracts
from include.ingest.load import discover, parse_delivery
from samples import GENERATORS, measures
from samples.common import arrival_day, counties
from samples.measures import Cube
from tests import readback

SCALE = 0.01
MONTHS = (1, 12)
KEY = b"test-key-for-feed-samples-000000"
PERSON_FEEDS = {
    "social_assistance": "person_id",
    "disability_subsidies": "person_id",
    "employment": "person_id",
    "education_aid": "student_id",
    "student_loans": "student_id",
    "housing_renovation": "head_id",
    "monitored_households": "head_id",
    "early_warning": "person_id",
}
NEW_FEEDS = sorted(feed for feed in GENERATORS if feed != "microcredit")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("landing")
    for module in GENERATORS.values():
        module.generate(folder, months=MONTHS, scale=SCALE)
    return folder


def test_every_feed_has_a_contract_and_a_generator():
    assert set(contracts()) == set(GENERATORS)
    for feed in ("social_assistance", "student_loans", "employment", "indicator_report", "pv_stations"):
        assert feed in contracts()


@pytest.mark.parametrize("feed", NEW_FEEDS)
def test_contract_is_complete(feed):
    contract = contracts()[feed]
    assert contract.department and contract.department_zh and contract.grain and contract.name_zh
    assert 1 <= contract.deadline_day <= 28
    assert contract.month_column == "report_month"
    detail, totals = contract.section("detail"), contract.section("control_totals")
    assert (detail.sheet, totals.sheet) == ("明细", "汇总")
    for section in (detail, totals):
        names = [c.name for c in section.columns]
        assert "county" in names and len(names) == len(set(names))
        for column in section.columns:
            assert column.type in COLUMN_TYPES and column.aliases
            if column.type in ("amount", "quantity"):
                assert all(unit for unit in column.aliases.values()), f"{feed}.{column.name}: every alias needs a unit"
            if column.type == "enum":
                assert column.values
    assert any(c.name == "report_month" and c.required for c in detail.columns)
    if feed in PERSON_FEEDS:
        ids = {c.name for c in detail.columns if c.type == "resident_id"}
        assert PERSON_FEEDS[feed] in ids


@pytest.mark.parametrize("feed", sorted(GENERATORS))
def test_sample_reads_back_without_error_findings(feed, landing):
    contract = contracts()[feed]
    for month in MONTHS:
        deliveries = discover(contract, dt.date(config.YEAR, month, 1), landing)
        assert len(deliveries) == 1, deliveries
        parsed, findings, _ = parse_delivery(contract, deliveries[0], KEY)
        errors = [f.message() for f in findings if f.severity == "error"]
        assert not errors, errors[:5]
        assert not [f for f in findings if f.severity == "warn"], [f.message() for f in findings][:5]
        assert parsed["detail"].records
        county_codes = [r[0] for r in parsed["control_totals"].records]
        assert county_codes == [*(c.code for c in counties()), config.CITY_CODE]


@pytest.mark.parametrize("feed", NEW_FEEDS)
def test_control_totals_are_what_the_parsed_detail_adds_up_to(feed, landing):
    """Each 汇总 column aggregated from the detail equals the detail read back, county by county and for 商丘市."""
    contract = contracts()[feed]
    layout = GENERATORS[feed].SOURCE.layout
    measured = [t for t in layout.totals if t.measure is not None]
    detail_names = [c.name for c in contract.section("detail").columns]
    totals_names = [c.name for c in contract.section("control_totals").columns]
    for month in MONTHS:
        (delivery,) = discover(contract, dt.date(config.YEAR, month, 1), landing)
        parsed, _, _ = parse_delivery(contract, delivery, KEY)
        cube = Cube(detail_names, [t.measure for t in measured if t.measure is not None])
        cube.add_all(readback.canonical(contract.section("detail"), parsed["detail"].records, detail_names))
        totals = readback.canonical(contract.section("control_totals"), parsed["control_totals"].records, totals_names)
        for row in totals:
            declared = dict(zip(totals_names, row, strict=True))
            for total in measured:
                assert total.measure is not None
                part = cube.partial(total.measure)
                computed = measures.value(part, row[0]) if row[0] != config.CITY_CODE else measures.total(part)
                assert declared[total.name] == computed, (feed, month, row[0], total.name)


def test_csv_feeds_mix_the_three_encodings(landing):
    found = set()
    for feed in NEW_FEEDS:
        contract = contracts()[feed]
        (delivery,) = discover(contract, dt.date(config.YEAR, 12, 1), landing)
        _, _, encoding = parse_delivery(contract, delivery, KEY)
        if encoding:
            found.add(encoding)
    assert found == {"utf-8", "utf-8-sig", "gb18030"}
    assert any(GENERATORS[feed].SOURCE.layout.form == "xlsx" for feed in NEW_FEEDS)


def test_most_files_arrive_before_the_deadline_and_a_few_late():
    late = total = 0
    for feed in NEW_FEEDS:
        deadline = contracts()[feed].deadline_day
        for month in range(1, 13):
            total += 1
            late += arrival_day(feed, month, deadline) > deadline
    assert 0 < late < total * 0.2


def test_arrival_time_is_stamped_on_the_files(landing):
    for feed in NEW_FEEDS:
        path = landing / feed / GENERATORS[feed].file_name(12)
        arrived = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone(dt.timedelta(hours=8)))
        day = arrival_day(feed, 12, contracts()[feed].deadline_day)
        assert (arrived.year, arrived.month, arrived.day, arrived.hour) == (config.YEAR + 1, 1, day, 9)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            (
                "  borrower_id:\n      type: resident_id\n      required: true",
                "  borrower_id:\n      type: resident_id\n      requried: true",
            ),
            "detail.columns.borrower_id: unknown key(s) requried",
        ),
        (("deadline_day: 10", "deadline_days: 10"), "unknown key(s) deadline_days"),
        (
            ("  sheet: 明细\n", "  sheets: 明细\n"),
            "detail: unknown key(s) sheets (allowed: columns, sheet, table); missing key(s) sheet",
        ),
    ],
)
def test_a_contract_with_an_unknown_key_is_refused(tmp_path, edit, message):
    """A typo such as ``requried:`` must not silently make a column optional."""
    from include.ingest.contract import parse

    text = (config.CONTRACTS_DIR / "microcredit.yml").read_text(encoding="utf-8")
    old, new = edit
    assert old in text
    path = tmp_path / "microcredit.yml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"microcredit\.yml: ") as refused:
        parse(path)
    assert message in str(refused.value)
    path.write_text(text, encoding="utf-8")
    assert parse(path).feed == "microcredit"
