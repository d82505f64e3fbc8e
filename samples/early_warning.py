"""Sample early-warning feed (防返贫监测预警: 医保局, 残联, 民政局): one flagged person a row.

A CSV pair a month in UTF-8 with BOM: the persons the departments flagged that month for the 乡村振兴局
to verify at home. Not calibrated (the review publishes no counts), but consistent with the other
feeds: 民政局 flags the persons who joined the 低保 or 特困 rosters that month, 残联 those who joined
a disability-subsidy roster, and 医保局 those whose medical bills that month exceeded 50,000 元 —
mostly people the registers show (低保 and 特困 recipients in the 民政 file, 三类户 heads in the
乡村振兴 file), plus a few
IDs that appear in no other feed (about 2%, and at least one in March, July and November at any
scale): the ones the cross-department rule must find.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from include import config
from samples import disability_subsidies, social_assistance
from samples.common import scaled
from samples.delivery import Layout, Source, Total
from samples.measures import measure
from samples.population import Household, Population, Spell, build, region, split

FEED = "early_warning"
MEDICAL, DISABILITY, CIVIL = "医保局", "残联", "民政局"
MEDICAL_FLAGS = 9_000  # persons with over 50,000 元 of medical costs in a month, a year, at scale 1
UNKNOWN_SHARE = 0.02
UNKNOWN_MONTHS = (3, 7, 11)  # months with at least one unknown ID at any scale
STATUS = (("待核查", "已核查无风险", "已纳入监测"), (40, 50, 10))

LAYOUT = Layout(
    feed=FEED,
    stem="防返贫监测预警",
    totals=(
        Total("flagged", measure("count")),
        Total("medical_flags", measure("count", source=MEDICAL)),
        Total("disability_flags", measure("count", source=DISABILITY)),
        Total("civil_flags", measure("count", source=CIVIL)),
        Total("enrolled", measure("count", check_status="已纳入监测")),
    ),
    form="csv",
    encoding="utf-8-sig",
    county_style="short",
    date_style="slash",
    dashes=("medical_total", "out_of_pocket"),
)


@dataclass(frozen=True, slots=True)
class Flag:
    month: int
    source: str
    kind: str
    person: str
    township: str
    village: str
    day: int
    medical_total: int
    out_of_pocket: int
    status: str


@cache
def flags(scale: float = 1.0) -> dict[str, list[Flag]]:
    """Every county's flags of the year, in month order (cached)."""
    assisted, disabled = social_assistance.payments(scale), disability_subsidies.payments(scale)
    medical = split(scaled(MEDICAL_FLAGS, scale), "mixed")
    population = build(scale)
    first_county = next(iter(population.counties))
    result: dict[str, list[Flag]] = {}
    for code in population.counties:
        rng = random.Random(f"{FEED}-{code}")
        found = [
            *_entrants(rng, CIVIL, [(s, "新纳入低保") for s, *_ in assisted[code].dibao]),
            *_entrants(rng, CIVIL, [(s, "新纳入特困") for s, *_ in assisted[code].tekun]),
            *_entrants(rng, DISABILITY, [(s, "新增残疾人补贴对象") for p in disabled[code].values() for s, *_ in p]),
            *_medical(rng, population, code, medical[code], code == first_county),
        ]
        result[code] = sorted(found, key=lambda f: (f.month, f.day))
    return result


def _entrants(rng: random.Random, source: str, spells: list[tuple[Spell, str]]) -> list[Flag]:
    """The department's flags of people who joined one of its rosters during the year."""
    return [_flag(rng, s.first, source, kind, (s.person, s.household)) for s, kind in spells if s.first > 1]


def _medical(rng: random.Random, population: Population, code: str, year: int, always_unknown: bool) -> list[Flag]:
    """医保局: bills over 50,000 元, of people a register file shows (低保 / 特困 recipients, 三类户 heads),
    and a few unknown ones."""
    residents, assisted = population.counties[code], social_assistance.payments(population.scale)[code]
    known = [(s.person, s.household) for s, *_ in (*assisted.dibao, *assisted.tekun)]
    known += [(m.household.head, m.household) for m in residents.monitored]
    found = []
    for month in range(1, 13):
        count = round(year / 12)
        unknown = round(count * UNKNOWN_SHARE)
        if month in UNKNOWN_MONTHS and always_unknown:
            unknown = max(1, unknown)
            count = max(count, unknown)
        for i in range(count):
            if i < unknown:
                who = (population.outsider(rng, region(code)), rng.choice(residents.households))
            else:
                who = rng.choice(known)
            total = rng.randrange(50_001, 400_000)
            own = round(total * rng.uniform(0.1, 0.35))
            found.append(_flag(rng, month, MEDICAL, "大额医疗费用", who, total=total, own=own))
    return found


def _flag(
    rng: random.Random, month: int, source: str, kind: str, who: tuple[str, Household], *, total: int = 0, own: int = 0
) -> Flag:
    """A flag of ``who`` (person, household) with its day, costs and verification status."""
    person, h = who
    day, status = rng.randint(1, 28), rng.choices(*STATUS)[0]
    return Flag(month, source, kind, person, h.township, h.village, day, total, own, status)


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """The month's flags, county by county."""
    report = dt.date(config.YEAR, month, 1)
    for code, county in flags(scale).items():
        for f in county:
            if f.month == month:
                flagged_on = report.replace(day=f.day).isoformat()
                yield (
                    code,
                    f.township,
                    f.village,
                    f.source,
                    f.kind,
                    f.person,
                    flagged_on,
                    f.medical_total,
                    f.out_of_pocket,
                    f.status,
                    report.isoformat(),
                )


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
