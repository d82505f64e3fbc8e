"""Sample disability-subsidy feed (残联: 困难残疾人生活补贴, 重度残疾人护理补贴): one payment a row.

A CSV pair a month in UTF-8 with BOM. Calibrated on the published figures: December's rosters have
exactly 77,791 生活补贴 and 98,540 护理补贴 recipients, and the year's payments add up to 4068万元 and
5300万元. 生活补贴 goes to disabled people on the 低保 or 特困 rosters (困难残疾人); 护理补贴 to the
severely disabled (一级, 二级), about a third of whom also receive the 生活补贴. New recipients join
during the year (the early-warning feed flags them), a few leave.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from functools import cache

from include import config
from samples import figures, social_assistance
from samples.common import apportion
from samples.delivery import Layout, Source, Total
from samples.measures import measure
from samples.population import Household, Spell, Unit, allocate, build, draw, roster, split

FEED = "disability_subsidies"
LIVING, CARE = "困难残疾人生活补贴", "重度残疾人护理补贴"
TYPES = (("肢体", "视力", "听力", "言语", "智力", "精神", "多重"), (45, 12, 12, 3, 10, 12, 6))
SEVERE, MILD = ("一级", "二级"), ("三级", "四级")
ALSO_LIVING = 0.35  # share of 护理补贴 recipients who also receive the 生活补贴

LAYOUT = Layout(
    feed=FEED,
    stem="残疾人两项补贴",
    totals=(
        Total("living_persons", measure("count_distinct", "person_id", subsidy_type=LIVING)),
        Total("living_amount", measure("sum", "amount", subsidy_type=LIVING)),
        Total("care_persons", measure("count_distinct", "person_id", subsidy_type=CARE)),
        Total("care_amount", measure("sum", "amount", subsidy_type=CARE)),
    ),
    form="csv",
    encoding="utf-8-sig",
    county_style="short",
    month_style="compact",
)

Payment = tuple[Spell, int, int, str, str]  # spell, monthly amount, extra with the last month, type, grade


def targets(scale: float = 1.0) -> dict[str, int]:
    """The city totals the detail adds up to (base units), by figure code."""
    codes = ("disability_living_persons", "disability_living_amount", "disability_care_persons")
    return figures.at_scale((*codes, "disability_care_amount"), scale)


@cache
def payments(scale: float = 1.0) -> dict[str, dict[str, list[Payment]]]:
    """Every county's 生活补贴 and 护理补贴 spells with their amounts (cached: early warning uses them)."""
    goal = targets(scale)
    living, care = split(goal["disability_living_persons"], "mixed"), split(goal["disability_care_persons"], "mixed")
    assisted = social_assistance.payments(scale)
    rosters: dict[str, dict[str, list[Spell]]] = {}
    for code, residents in build(scale).counties.items():
        rng = random.Random(f"{FEED}-{code}")
        all_year = [
            ([s.person], s.household)
            for s, *_ in (*assisted[code].dibao, *assisted[code].tekun)
            if s.first == 1 and s.last == 12
        ]
        living_spells = roster(rng, draw(rng, [all_year]), living[code], 0.08, 0.03)
        both = [([s.person], s.household) for s in living_spells if s.last == 12][: round(care[code] * ALSO_LIVING)]
        others = _others(rng, residents.people, care[code], {s.person for s in living_spells})
        rosters[code] = {LIVING: living_spells, CARE: roster(rng, both + others, care[code], 0.08, 0.03)}
    result: dict[str, dict[str, list[Payment]]] = {code: {} for code in rosters}
    for kind, amount in ((LIVING, goal["disability_living_amount"]), (CARE, goal["disability_care_amount"])):
        months = {code: sum(s.months for s in kinds[kind]) for code, kinds in rosters.items()}
        shares = dict(zip(months, apportion(amount, list(months.values())), strict=True))
        for code, kinds in rosters.items():
            severe = {s.person for s in kinds[CARE]}
            result[code][kind] = _graded(kinds[kind], shares[code], severe)
    return result


def _others(rng: random.Random, people: list[tuple[str, Household]], care: int, excluded: set[str]) -> list[Unit]:
    """Severely disabled people not on the 生活补贴 roster: a random sample of the county, enough for the roster."""
    chosen = rng.sample(range(len(people)), min(len(people), 2 * care + 100))
    return [([people[i][0]], people[i][1]) for i in chosen if people[i][0] not in excluded]


def _graded(spells: list[Spell], total: int, severe: set[str]) -> list[Payment]:
    """Each spell with its amounts, disability type and grade: 一级/二级 for the 护理补贴 recipients
    (in both lists alike), 三级/四级 for the others."""
    amounts = allocate(total, spells, [1.0] * len(spells))
    graded = []
    for spell, (monthly, extra) in zip(spells, amounts, strict=True):
        person = random.Random(f"{FEED}-grade-{spell.person}")
        kind_of = person.choices(*TYPES)[0]
        grade = person.choice(SEVERE if spell.person in severe else MILD)
        graded.append((spell, monthly, extra, kind_of, grade))
    return graded


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """The month's payments, county by county: 生活补贴, then 护理补贴."""
    report = dt.date(config.YEAR, month, 1).isoformat()
    for code, kinds in payments(scale).items():
        for kind in (LIVING, CARE):
            for spell, monthly, extra, kind_of, grade in kinds[kind]:
                if spell.first <= month <= spell.last:
                    h = spell.household
                    amount = monthly + (extra if month == spell.last else 0)
                    yield (code, h.township, h.village, spell.person, kind_of, grade, kind, amount, report)


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
