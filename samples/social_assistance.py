"""Sample social-assistance feed (民政局: 农村低保, 特困供养, 临时救助): one payment to one person in one month.

A CSV pair a month in GB18030, as the 民政 system exports it. Calibrated on the published figures:
December's 低保 roster has exactly 27.01万 persons and the year's 低保 payments add up to 4.55亿元;
the same for 特困 (39,775 persons, 1.73亿元); 临时救助 has 22,502 payments (人次) of 2,374万元 in all.
低保 is paid to whole households (sometimes to one member only: 单人保), mostly 脱贫户 and 监测户;
特困 persons are old people living alone; 临时救助 goes first to the 突发严重困难户 in the month they
were identified. Households join and leave the rosters during the year; the early-warning feed flags
each month's new entrants.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from include import config
from samples import figures
from samples.common import apportion
from samples.delivery import Layout, Source, Total
from samples.measures import measure
from samples.population import Household, Residents, Spell, Unit, allocate, build, draw, roster, split

FEED = "social_assistance"
DIBAO, TEKUN, TEMP = "农村低保", "特困供养", "临时救助"
DIBAO_WEIGHTS = (1.6, 1.0, 0.7)  # 一类 / 二类 / 三类 保障对象: relative monthly amounts
TEMP_MONTH_WEIGHTS = (8, 9, 7, 6, 6, 7, 12, 14, 10, 7, 6, 8)

LAYOUT = Layout(
    feed=FEED,
    stem="社会救助",
    totals=(
        Total("dibao_persons", measure("count_distinct", "person_id", assistance_type=DIBAO)),
        Total("dibao_amount", measure("sum", "amount", assistance_type=DIBAO)),
        Total("tekun_persons", measure("count_distinct", "person_id", assistance_type=TEKUN)),
        Total("tekun_amount", measure("sum", "amount", assistance_type=TEKUN)),
        Total("temp_times", measure("count", assistance_type=TEMP)),
        Total("temp_amount", measure("sum", "amount", assistance_type=TEMP)),
        Total("total_amount", measure("sum", "amount")),
    ),
    form="csv",
    encoding="gb18030",
    county_style="prefixed",
    month_style="cn",
    date_style="slash",
)


@dataclass(frozen=True)
class Payments:
    """One county's year: roster spells with their monthly amounts, and one-off 临时救助 payments."""

    dibao: list[tuple[Spell, int, int]]  # spell, monthly amount, extra with the last month
    tekun: list[tuple[Spell, int, int]]
    temp: list[tuple[int, str, Household, int]]  # month, person, household, amount
    pay_day: int


def targets(scale: float = 1.0) -> dict[str, int]:
    """The city totals the detail adds up to (base units), by figure code."""
    codes = (
        "dibao_persons",
        "dibao_amount",
        "tekun_persons",
        "tekun_amount",
        "temp_assistance_times",
        "temp_assistance_amount",
    )
    return figures.at_scale(codes, scale)


def _elderly_alone(residents: Residents) -> list[Unit]:
    return [([h.head], h) for h in residents.households if len(h.members) == 1 and int(h.head[6:10]) <= 1961]


def _elderly(residents: Residents) -> list[Unit]:
    return [([p], h) for p, h in residents.people if int(p[6:10]) <= 1956]


def _households(residents: Residents, kind: str) -> list[Unit]:
    return [(h.members, h) for h in residents.households if h.kind == kind]


@cache
def payments(scale: float = 1.0) -> dict[str, Payments]:
    """Every county's payments for the year (cached: the early-warning and disability feeds use them)."""
    goal = targets(scale)
    dibao, tekun = split(goal["dibao_persons"], "mixed"), split(goal["tekun_persons"], "mixed")
    times = split(goal["temp_assistance_times"], "mixed")
    spells = {}
    for code, residents in build(scale).counties.items():
        rng = random.Random(f"{FEED}-{code}")
        tekun_spells = roster(rng, draw(rng, [_elderly_alone(residents), _elderly(residents)]), tekun[code], 0.05, 0.06)
        pools = [_households(residents, kind) for kind in ("监测户", "脱贫户", "一般农户")]
        dibao_units = draw(rng, pools, exclude={s.person for s in tekun_spells})
        spells[code] = (rng, roster(rng, dibao_units, dibao[code], 0.06, 0.05), tekun_spells)
    dibao_amounts = _county_amounts(goal["dibao_amount"], {c: s[1] for c, s in spells.items()})
    tekun_amounts = _county_amounts(goal["tekun_amount"], {c: s[2] for c, s in spells.items()})
    temp_amounts = split(goal["temp_assistance_amount"], "mixed")
    result = {}
    for code, (rng, dibao_spells, tekun_spells) in spells.items():
        tier: dict[str, float] = {}
        for spell in dibao_spells:  # the household's 保障类别 sets its members' monthly amount
            tier.setdefault(spell.household.number, rng.choices(DIBAO_WEIGHTS, weights=(2, 5, 3))[0])
        tiers = [tier[spell.household.number] for spell in dibao_spells]
        result[code] = Payments(
            list(_with_amounts(dibao_spells, allocate(dibao_amounts[code], dibao_spells, tiers))),
            list(_with_amounts(tekun_spells, allocate(tekun_amounts[code], tekun_spells, [1.0] * len(tekun_spells)))),
            _temporary(rng, build(scale).counties[code], dibao_spells, times[code], temp_amounts[code]),
            rng.randint(15, 25),
        )
    return result


def _county_amounts(total: int, spells: dict[str, list[Spell]]) -> dict[str, int]:
    """A city amount split over counties by their person-months on the roster."""
    codes = list(spells)
    parts = apportion(total, [sum(s.months for s in spells[code]) for code in codes])
    return dict(zip(codes, parts, strict=True))


def _with_amounts(spells: list[Spell], amounts: list[tuple[int, int]]) -> Iterator[tuple[Spell, int, int]]:
    for spell, (monthly, extra) in zip(spells, amounts, strict=True):
        yield spell, monthly, extra


def _temporary(
    rng: random.Random, residents: Residents, dibao: list[Spell], times: int, amount: int
) -> list[tuple[int, str, Household, int]]:
    """One-off payments: first to 突发严重困难户 in the month they were identified, then to 低保 households."""
    hardship = [
        (m.identified.month if m.identified.year == config.YEAR else rng.randint(1, 12), m.household)
        for m in residents.monitored
        if m.category == "突发严重困难户"
    ]
    rng.shuffle(hardship)
    chosen = hardship[: times // 2]
    others = [s.household for s in dibao[:: max(1, len(dibao) // max(1, times))]] or [residents.households[0]]
    while len(chosen) < times:
        month = rng.choices(range(1, 13), weights=TEMP_MONTH_WEIGHTS)[0]
        chosen.append((month, rng.choice(others)))
    amounts = apportion(amount, [rng.uniform(0.3, 3.0) for _ in chosen])
    return sorted(
        ((month, household.head, household, paid) for (month, household), paid in zip(chosen, amounts, strict=True)),
        key=lambda p: (p[0], p[2].number),
    )


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """The month's payments, county by county: 低保, then 特困, then 临时救助."""
    report = dt.date(config.YEAR, month, 1).isoformat()
    for code, county in payments(scale).items():
        paid_on = dt.date(config.YEAR, month, county.pay_day).isoformat()
        for kind, spells in ((DIBAO, county.dibao), (TEKUN, county.tekun)):
            for spell, monthly, extra in spells:
                if spell.first <= month <= spell.last:
                    h = spell.household
                    amount = monthly + (extra if month == spell.last else 0)
                    yield (
                        code,
                        h.township,
                        h.village,
                        kind,
                        spell.person,
                        h.head,
                        len(h.members),
                        amount,
                        paid_on,
                        report,
                    )
        for paid_month, person, h, amount in county.temp:
            if paid_month == month:
                day = dt.date(config.YEAR, month, 1 + int(h.number[-2:]) % 28).isoformat()
                yield (code, h.township, h.village, TEMP, person, h.head, len(h.members), amount, day, report)


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
