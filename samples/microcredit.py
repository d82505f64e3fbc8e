"""Sample microcredit feed (小额信贷): one workbook a month, loan accounts plus 汇总.

Calibrated on the published December 2021 league table (reference fixture):
for each county the December snapshot has exactly the published number of
households with a balance and of households with a loan issued in 2021, and the
汇总 sheet declares the published eligible households. Around them the year is
filled in plausibly: loans issued month by month, older loans that are repaid
during the year, and households holding two accounts at once (so counting
accounts instead of households gives a wrong answer).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from include import config
from include.ingest.contract import contracts
from samples.common import apportion, county_code, month_end, resident_id, stamp_received, write_xlsx
from samples.delivery import headers

FEED = "microcredit"
BANKS = ("农商银行", "邮储银行", "农业银行", "中原银行")
ISSUE_WEIGHTS = (6, 10, 14, 12, 10, 8, 7, 7, 8, 7, 6, 5)  # new loans by month: spring-heavy
NEW_AMOUNT_TOTAL = 1_190_000  # 11.9亿元 in units of 0.1万元, the published 2021 new-loan total
WRITTEN_AS = {"睢县": "睢　县", "示范区": "城乡一体化示范区", "梁园区": "商丘市梁园区"}
DETAIL_HEADER, TOTALS_HEADER = (headers(FEED, role) for role in ("detail", "control_totals"))


@dataclass(frozen=True)
class CountyTarget:
    name: str
    lifted: int
    monitored: int
    balance: int  # December households with a balance
    new: int  # households with a loan issued in 2021


@dataclass(frozen=True)
class Account:
    county: str
    household: str  # resident ID of the borrower (clear text: this is the department's own file)
    household_type: str
    account_no: str
    bank: str
    township: str
    village: str
    issued: dt.date
    matures: dt.date
    amount: int  # 0.1万元 units
    closed_month: int | None  # 2021 month in which it was repaid in full


def targets(scale: float = 1.0) -> list[CountyTarget]:
    """The published December table (county rows), scaled."""
    path = config.REFERENCE_DIR / "ref_microcredit_league_2021_12.csv"
    with open(path, encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["county_name"] != "商丘市"]

    def s(value: str) -> int:
        return max(1, round(int(value) * scale)) if scale != 1.0 else int(value)

    return [
        CountyTarget(
            r["county_name"],
            s(r["lifted_households"]),
            s(r["monitored_households"]),
            s(r["balance_households"]),
            min(s(r["new_households"]), s(r["balance_households"])),
        )
        for r in rows
    ]


def _region(county: str) -> str:
    code = county_code(county)
    return "411402" if code == "411499" else code  # 示范区 residents are registered in 梁园区


class _County:
    """Makes one county's households and accounts from its own random stream."""

    def __init__(self, target: CountyTarget, taken: set[str]) -> None:
        self.target, self.taken = target, taken
        self.rng = random.Random(f"{FEED}-{target.name}")
        self.region = _region(target.name)
        self.share_monitored = target.monitored / (target.lifted + target.monitored)
        self.serial = 0

    def household(self) -> tuple[str, str]:
        kind = "监测户" if self.rng.random() < self.share_monitored else "已脱贫户"
        return resident_id(self.rng, self.region, self.taken), kind

    def old_issue(self) -> dt.date:
        return dt.date(2019, 1, 1) + dt.timedelta(days=self.rng.randrange(700))

    def account(self, household: tuple[str, str], issued: dt.date, amount: int, closed: int | None) -> Account:
        self.serial += 1
        rng = self.rng
        return Account(
            self.target.name,
            household[0],
            household[1],
            f"{self.region}{self.serial:08d}",
            rng.choice(BANKS),
            f"乡镇{rng.randrange(1, 21):02d}",
            f"村{rng.randrange(1, 400):03d}",
            issued,
            issued + dt.timedelta(days=365 * 3),
            amount,
            closed,
        )

    def accounts(self, new_total: int) -> list[Account]:
        rng, target, result = self.rng, self.target, []
        new_months = rng.choices(range(1, 13), weights=ISSUE_WEIGHTS, k=target.new)
        new_amounts = apportion(new_total, [rng.uniform(0.5, 1.5) for _ in range(target.new)])
        for month, amount in zip(sorted(new_months), new_amounts, strict=True):
            household = self.household()
            result.append(self.account(household, dt.date(config.YEAR, month, rng.randrange(1, 29)), amount, None))
            if rng.random() < 0.04:  # also still repaying an older loan: two accounts, one household
                result.append(self.account(household, self.old_issue(), rng.randrange(10, 51), None))
        for _ in range(target.balance - target.new):
            result.append(self.account(self.household(), self.old_issue(), rng.randrange(10, 51), None))
        for _ in range(round(target.balance * 0.12)):  # older loans repaid in full during 2021
            closed = rng.randrange(1, 13)
            issued = dt.date(2018 + (closed > 6), rng.randrange(1, 13), rng.randrange(1, 29))
            result.append(self.account(self.household(), issued, rng.randrange(10, 51), closed))
        return result


def accounts(scale: float = 1.0) -> list[Account]:
    """Every loan account that exists at some month-end of 2021."""
    taken: set[str] = set()
    county_targets = targets(scale)
    amounts = apportion(round(NEW_AMOUNT_TOTAL * scale), [t.new for t in county_targets])
    result: list[Account] = []
    for target, new_total in zip(county_targets, amounts, strict=True):
        result.extend(_County(target, taken).accounts(new_total))
    return result


def snapshot(all_accounts: list[Account], month: int) -> Iterator[tuple[object, ...]]:
    """The detail rows of one month-end: open accounts, and accounts closed in the month."""
    end = month_end(dt.date(config.YEAR, month, 1))
    for a in all_accounts:
        if a.issued > end or (a.closed_month is not None and a.closed_month < month):
            continue
        closing = a.closed_month == month
        yield (
            WRITTEN_AS.get(a.county, a.county),
            a.township,
            a.village,
            a.household,
            a.household_type,
            a.account_no,
            a.bank,
            a.issued.isoformat(),
            a.matures.isoformat(),
            a.amount / 10,
            0 if closing else a.amount / 10,
            a.amount / 10 if closing else "—",
            f"{config.YEAR}-{month:02d}",
        )


def control_totals(all_accounts: list[Account], month: int, scale: float = 1.0) -> list[tuple[object, ...]]:
    """The 汇总 sheet as the department computes it: one row per county, then 商丘市."""
    end = month_end(dt.date(config.YEAR, month, 1))
    rows: list[tuple[str, int, int, int, int]] = []
    for target in targets(scale):
        mine = [a for a in all_accounts if a.county == target.name and a.issued <= end]
        with_balance = {a.household for a in mine if a.closed_month is None or a.closed_month > month}
        new = {a.household for a in mine if a.issued.year == config.YEAR}
        rows.append((target.name, target.lifted, target.monitored, len(with_balance), len(new)))
    total = (
        "商丘市",
        sum(r[1] for r in rows),
        sum(r[2] for r in rows),
        sum(r[3] for r in rows),
        sum(r[4] for r in rows),
    )
    ranked = sorted(rows, key=lambda r: r[3] / (r[1] + r[2]), reverse=True)
    rank = {r[0]: position for position, r in enumerate(ranked, start=1)}

    def pct(part: int, whole: int) -> str:
        return f"{100 * part / whole:.2f}%"

    return [(*r, pct(r[4], r[1] + r[2]), pct(r[3], r[1] + r[2]), rank.get(str(r[0]), "")) for r in [*rows, total]]


def file_name(month: int) -> str:
    return f"小额信贷_{config.YEAR}-{month:02d}.xlsx"


def generate(landing: Path, months: range = range(1, 13), scale: float = 1.0) -> list[Path]:
    """Write the monthly workbooks into ``landing/microcredit``; returns their paths."""
    all_accounts = accounts(scale)
    sheets = {section.role: section.sheet for section in contracts()[FEED].sections}
    paths = []
    for month in months:
        path = landing / FEED / file_name(month)
        title = f"商丘市脱贫人口小额信贷{{}}（{config.YEAR}年{month}月）"
        write_xlsx(
            path,
            [
                (sheets["detail"], title.format("明细表"), DETAIL_HEADER, snapshot(all_accounts, month)),
                (
                    sheets["control_totals"],
                    title.format("通报表"),
                    TOTALS_HEADER,
                    control_totals(all_accounts, month, scale),
                ),
            ],
        )
        stamp_received(path, dt.date(config.YEAR, month, 1), day=5)
        paths.append(path)
    return paths
