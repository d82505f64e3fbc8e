"""Sample housing-renovation feed (住建局: 农村危房改造): one household's renovation and subsidy a row.

An .xlsx workbook a month: the households on the 危房改造 register by the month's end, with the
progress of their renovation. Calibrated on the published figures "as of October 2021": 482
households identified (鉴定) and all 482 renovated (已竣工) by the end of October, with 964万元 of
中央和省级补助资金 (D级 rebuilt, C级 repaired, in steps of 100 元). The households are 4类重点对象
of the population: 监测户, 脱贫户, 低保户 and 分散供养特困户.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from include import config
from samples import figures, social_assistance
from samples.common import apportion_in, month_end, scaled
from samples.delivery import Layout, Source, Total
from samples.measures import measure
from samples.population import Household, build, split

FEED = "housing_renovation"
DONE = "已竣工"
APPRAISAL_WEIGHTS = (30, 25, 25, 20)  # 鉴定 January–April

LAYOUT = Layout(
    feed=FEED,
    stem="农村危房改造",
    totals=(
        Total("households", measure("count")),
        Total("completed", measure("count", progress=DONE)),
        Total("completion_rate", rate_of=("completed", "households")),
        Total("subsidy", measure("sum", "subsidy")),
    ),
    county_style="short",
    date_style="slash",
)


@dataclass(frozen=True, slots=True)
class Renovation:
    household: Household
    household_type: str
    grade: str
    method: str
    appraised: dt.date
    started: dt.date
    completed: dt.date
    subsidy: int

    def progress(self, end: dt.date) -> str:
        if end >= self.completed:
            return DONE
        return "在建" if end >= self.started else "未开工"


def targets(scale: float = 1.0) -> dict[str, int]:
    """The city totals the detail adds up to (reached by October, held after), by figure code."""
    households = scaled(figures.base("dilapidated_houses_identified"), scale)
    per_household = figures.base("dilapidated_houses_subsidy") / figures.base("dilapidated_houses_identified")
    return {
        "dilapidated_houses_identified": households,
        "dilapidated_houses_renovated": households,
        "dilapidated_houses_subsidy": scaled(figures.base("dilapidated_houses_subsidy"), scale)
        if scale == 1.0
        else round(per_household * households),
    }


def _candidates(code: str, scale: float) -> list[tuple[Household, str]]:
    """The county's 4类重点对象 households, each once: 监测户, 特困, 低保 and 脱贫户 households."""
    residents = build(scale).counties[code]
    assisted = social_assistance.payments(scale)[code]
    found: dict[str, tuple[Household, str]] = {}
    for m in residents.monitored:
        found.setdefault(m.household.number, (m.household, "监测户"))
    for spell, *_ in assisted.tekun:
        found.setdefault(spell.household.number, (spell.household, "分散供养特困户"))
    for spell, *_ in assisted.dibao:
        found.setdefault(spell.household.number, (spell.household, "低保户"))
    for h in residents.households:
        if h.kind == "脱贫户":
            found.setdefault(h.number, (h, "脱贫户"))
    return list(found.values())


@cache
def renovations(scale: float = 1.0) -> dict[str, list[Renovation]]:
    """Every county's renovations (cached); the first is appraised in January, all are done by October."""
    goal = targets(scale)
    counts = split(goal["dilapidated_houses_identified"], "mixed")
    plans: dict[str, list[tuple[Household, str, str, dt.date]]] = {}
    for code, count in counts.items():
        rng = random.Random(f"{FEED}-{code}")
        chosen = rng.sample(_candidates(code, scale), count)
        plans[code] = [
            (
                h,
                kind,
                rng.choice(("C级", "D级")),
                dt.date(config.YEAR, rng.choices(range(1, 5), weights=APPRAISAL_WEIGHTS)[0], rng.randint(1, 28)),
            )
            for h, kind in chosen
        ]
    first = min((code for code in plans if plans[code]), default=None)
    if first is not None:  # the register is never empty: someone is appraised in January
        h, kind, grade, appraised = plans[first][0]
        plans[first][0] = (h, kind, grade, appraised.replace(month=1))
    ordered = [(code, plan) for code in plans for plan in plans[code]]
    weights = [2.5 if grade == "D级" else 1.0 for _, (_, _, grade, _) in ordered]
    subsidies = apportion_in(goal["dilapidated_houses_subsidy"], weights, 100)
    result: dict[str, list[Renovation]] = {code: [] for code in plans}
    for (code, (h, kind, grade, appraised)), subsidy in zip(ordered, subsidies, strict=True):
        rng = random.Random(f"{FEED}-{h.number}")
        started = appraised + dt.timedelta(days=rng.randint(20, 70))
        completed = min(started + dt.timedelta(days=rng.randint(40, 120)), dt.date(config.YEAR, 10, 28))
        method = "拆除重建" if grade == "D级" else "修缮加固"
        result[code].append(Renovation(h, kind, grade, method, appraised, started, completed, subsidy))
    return result


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """The register at the month's end, county by county."""
    report = dt.date(config.YEAR, month, 1)
    end = month_end(report)
    for code, county in renovations(scale).items():
        for r in sorted(county, key=lambda r: (r.appraised, r.household.number)):
            if r.appraised <= end:
                h = r.household
                yield (
                    code,
                    h.township,
                    h.village,
                    h.head,
                    r.household_type,
                    len(h.members),
                    r.grade,
                    r.method,
                    r.appraised.isoformat(),
                    r.progress(end),
                    r.subsidy,
                    report.isoformat(),
                )


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
