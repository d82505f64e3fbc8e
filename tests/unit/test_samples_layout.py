"""The sample feeds' layouts agree with the feed contracts (include/contracts/<feed>.yml).

A ``samples.delivery.Layout`` takes its deadline, sheets and columns from the contract (each headed by
its first alias, as microcredit's headers are too); every feed names its files, writes its records and
computes its 汇总 columns itself. These tests fail on any drift: a header that is not an alias of its
contract column, a column the contract lacks, a required contract column left out, a record that does
not fit the contract's columns, a 汇总 column computed twice or not at all, or a file name the contract's
``file_pattern`` does not match.
"""

from __future__ import annotations

import pytest

from include import config
from include.ingest.contract import contracts
from samples import GENERATORS, microcredit
from samples.delivery import Layout

LAYOUTS = {feed: module.LAYOUT for feed, module in GENERATORS.items() if feed != microcredit.FEED}
ROLES = ("detail", "control_totals")


def printed(feed: str) -> dict[str, list[tuple[str, str]]]:
    """(canonical column, header as printed) of each sheet of a feed's sample files."""
    if feed == microcredit.FEED:  # a writer of its own, the headers in the contract's column order
        headers = {"detail": microcredit.DETAIL_HEADER, "control_totals": microcredit.TOTALS_HEADER}
        sections = {role: contracts()[feed].section(role).columns for role in ROLES}
        return {role: [(c.name, h) for c, h in zip(sections[role], headers[role], strict=True)] for role in ROLES}
    layout: Layout = LAYOUTS[feed]
    return {
        "detail": [(c.name, c.header) for c in layout.detail],
        "control_totals": [(c.name, c.header) for c in layout.totals_printed],
    }


def test_every_feed_has_a_layout_checked_here():
    assert set(LAYOUTS) | {microcredit.FEED} == set(GENERATORS) == set(contracts())


@pytest.mark.parametrize("feed", sorted(GENERATORS))
@pytest.mark.parametrize("role", ROLES)
def test_every_printed_header_is_an_alias_of_its_contract_column(feed, role):
    columns = {c.name: c for c in contracts()[feed].section(role).columns}
    pairs = printed(feed)[role]
    assert [name for name, _ in pairs if name not in columns] == [], "columns the contract lacks"
    wrong = [(name, header) for name, header in pairs if header not in columns[name].aliases]
    assert wrong == [], "headers that are no alias of their contract column"


@pytest.mark.parametrize("feed", sorted(GENERATORS))
@pytest.mark.parametrize("role", ROLES)
def test_every_required_contract_column_is_printed_once(feed, role):
    names = [name for name, _ in printed(feed)[role]]
    assert len(names) == len(set(names))
    required = [c.name for c in contracts()[feed].section(role).columns if c.required]
    assert [name for name in required if name not in names] == []


@pytest.mark.parametrize("feed", sorted(LAYOUTS))
def test_every_contract_total_is_computed_once(feed):
    computed = sorted(t.name for t in LAYOUTS[feed].totals)
    columns = contracts()[feed].section("control_totals").columns
    assert computed == sorted(c.name for c in columns if c.type != "county")


@pytest.mark.parametrize("feed", sorted(GENERATORS))
def test_file_names_match_the_contract_file_pattern(feed):
    contract = contracts()[feed]
    names = {
        month: LAYOUTS[feed].file_names(month) if feed in LAYOUTS else [microcredit.file_name(month)]
        for month in range(1, 13)
    }
    assert {m: [contract.match(n) for n in found] for m, found in names.items()} == {
        m: [(config.YEAR, m)] * len(found) for m, found in names.items()
    }


@pytest.mark.parametrize("feed", sorted(LAYOUTS))
def test_deadline_and_sheets_come_from_the_contract(feed):
    layout, contract = LAYOUTS[feed], contracts()[feed]
    assert layout.deadline_day == contract.deadline_day
    assert (layout.detail_sheet, layout.totals_sheet) == tuple(contract.section(role).sheet for role in ROLES)


@pytest.mark.parametrize("feed", sorted(LAYOUTS))
def test_records_carry_one_value_per_contract_column(feed):
    """A record is the detail row in the contract's column order: a column added to the contract fails here."""
    record = next(iter(GENERATORS[feed].SOURCE.records(12, 0.01)))
    assert len(record) == len(LAYOUTS[feed].detail)
