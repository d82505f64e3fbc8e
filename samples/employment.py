"""Sample employment feed (人社局: 脱贫劳动力务工就业, 稳岗就业 and 公益岗位): one employed person a row.

A month-end roster of the 脱贫劳动力 (and other rural low-income workers) in work, as a CSV pair in
UTF-8. Calibrated on the published figures: December's roster has exactly 23.15万 persons, 7.48万 of
them in a 公益岗位, and the 汇总 sheet declares the 2021 target of 22.11万 by county (a plan: the
detail cannot carry it). Workers are people of working age (16–60) from 脱贫户 and 监测户 first; some
join during the year and some leave; each keeps the same job and workplace while on the roster.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from include import config
from samples import figures
from samples.delivery import Givens, Layout, Source, Total
from samples.measures import measure
from samples.population import Residents, Spell, Unit, age, build, draw, roster, split

FEED = "employment"
POST = "公益岗位"
JOBS = {  # employment type -> (weight, workplaces, monthly income range in 元)
    "省外务工": (40, ("广东省", "江苏省", "浙江省", "上海市", "北京市", "福建省"), (3200, 6500)),
    "省内县外务工": (25, ("郑州市", "商丘市区", "开封市", "洛阳市"), (2500, 4800)),
    "县内务工": (20, ("县城", "产业园区", "乡镇企业"), (1800, 3500)),
    "扶贫车间": (10, ("扶贫车间",), (1200, 2600)),
    "自主创业": (5, ("本村",), (1500, 5000)),
}
PERSON_TYPES = {"脱贫户": "脱贫人口", "监测户": "监测对象", "一般农户": "农村低收入人口"}

LAYOUT = Layout(
    feed=FEED,
    stem="脱贫劳动力务工就业",
    totals=(
        Total("target", given=True),
        Total("employed", measure("count_distinct", "person_id")),
        Total("done_rate", rate_of=("employed", "target")),
        Total("public_welfare_posts", measure("count_distinct", "person_id", employment_type=POST)),
    ),
    form="csv",
)


@dataclass(frozen=True, slots=True)
class Job:
    spell: Spell
    kind: str
    workplace: str
    income: int
    since: str  # ISO date


def targets(scale: float = 1.0) -> dict[str, int]:
    """The city totals the detail (and 汇总) add up to, by figure code."""
    return figures.at_scale(("employment_target", "employment_done", "public_welfare_posts"), scale)


def _workers(residents: Residents, kinds: tuple[str, ...]) -> list[Unit]:
    return [([p], h) for p, h in residents.people if h.kind in kinds and 16 <= age(p) <= 60]


@cache
def jobs(scale: float = 1.0) -> dict[str, list[Job]]:
    """Every county's workers with their job (cached)."""
    goal = targets(scale)
    done, posts = split(goal["employment_done"], "poverty"), split(goal["public_welfare_posts"], "poverty")
    kinds, weights = list(JOBS), [w for w, *_ in JOBS.values()]
    result = {}
    for code, residents in build(scale).counties.items():
        rng = random.Random(f"{FEED}-{code}")
        units = draw(rng, [_workers(residents, ("脱贫户", "监测户")), _workers(residents, ("一般农户",))])
        spells = roster(rng, units, done[code], 0.10, 0.05)
        on_posts = set(rng.sample([i for i, s in enumerate(spells) if s.last == 12], posts[code]))
        result[code] = [
            _job(rng, spell, POST if i in on_posts else rng.choices(kinds, weights=weights)[0])
            for i, spell in enumerate(spells)
        ]
    return result


def _job(rng: random.Random, spell: Spell, kind: str) -> Job:
    if kind == POST:
        workplace, income = (
            rng.choice(("村保洁", "护林员", "水管员", "公路养护", "村级协管")),
            rng.randrange(500, 1001, 50),
        )
    else:
        _, places, (low, high) = JOBS[kind]
        workplace, income = rng.choice(places), rng.randrange(low, high, 100)
    if spell.first == 1:
        since = dt.date(rng.choice((2018, 2019, 2020)), rng.randint(1, 12), rng.randint(1, 28))
    else:
        since = dt.date(config.YEAR, spell.first, rng.randint(1, 28))
    return Job(spell, kind, workplace, income, since.isoformat())


def givens(month: int, scale: float = 1.0) -> Givens:
    """The 2021 target by county, which the 汇总 sheet declares every month."""
    return {"target": split(targets(scale)["employment_target"], "poverty")}


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """The month-end roster, county by county."""
    report = dt.date(config.YEAR, month, 1).isoformat()
    for code, county_jobs in jobs(scale).items():
        for job in county_jobs:
            spell = job.spell
            if spell.first <= month <= spell.last:
                h = spell.household
                yield (
                    code,
                    h.township,
                    h.village,
                    spell.person,
                    PERSON_TYPES[h.kind],
                    job.kind,
                    job.workplace,
                    job.income,
                    job.since,
                    report,
                )


SOURCE = Source(LAYOUT, records, givens)
file_name = SOURCE.file_name
generate = SOURCE.generate
