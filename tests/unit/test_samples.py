"""The sample generator is deterministic and its December control totals equal the published table."""

import csv

from include import config
from samples import microcredit


def test_december_control_totals_equal_the_published_table():
    with open(config.REFERENCE_DIR / "ref_microcredit_league_2021_12.csv", encoding="utf-8") as handle:
        published = {row["county_name"]: row for row in csv.DictReader(handle)}
    for name, lifted, monitored, balance, new, new_rate, balance_rate, rank in microcredit.control_totals(
        microcredit.accounts(), 12
    ):
        row = published[name]
        assert (lifted, monitored, balance, new) == tuple(
            int(row[k]) for k in ("lifted_households", "monitored_households", "balance_households", "new_households")
        )
        assert (new_rate, balance_rate) == (
            f"{row['new_household_rate_pct']}%",
            f"{row['balance_household_rate_pct']}%",
        )
        assert str(rank) == row["rank"]


def test_generation_is_byte_for_byte_deterministic(tmp_path):
    one = microcredit.generate(tmp_path / "a", months=range(3, 4), scale=0.02)[0]
    two = microcredit.generate(tmp_path / "b", months=range(3, 4), scale=0.02)[0]
    assert one.read_bytes() == two.read_bytes()


def test_some_households_hold_two_accounts():
    accounts = microcredit.accounts(scale=0.1)
    households = [a.household for a in accounts if a.closed_month is None]
    assert len(households) > len(set(households))
