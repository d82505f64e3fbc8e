"""Sample linkage-fund project feed (乡村振兴局 / 财政局: 衔接资金项目, 产业项目): one project a row.

An .xlsx workbook a month, amounts in 万元: every project of the 项目库 with its month-end status and
cumulative funds. Calibrated on the published figures for December: 2,365 projects in the library
(46.1亿元 planned), 888 being implemented (all started: 47 在建, 841 已完工) with 27.34亿元 of fiscal
funds, 23.63亿元 spent, of which 衔接资金 14.91亿元 allocated and 14.57亿元 spent; among them 278
industry projects (种植业 102, 养殖业 20, 加工业 43, 休闲农业与乡村旅游 6, 其他 107; 267 completed)
with 13.42亿元 of funds, 13.05亿元 paid, reaching 332,344 脱贫户 and 882,429 persons with 2,088 元
of income per household. More than half of the 衔接资金 goes to industry (the review's "超过50%").

Per project: spent ≤ funds, 衔接资金 ≤ funds, 衔接资金已支出 ≤ both 衔接资金 and 已支出; spending
grows month by month from the start; a project is 入库待实施 until it is chosen for implementation.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from include import config
from samples import figures
from samples.common import apportion, apportion_in, month_end, scaled
from samples.delivery import Layout, Source, Total
from samples.measures import measure
from samples.population import build, split

FEED = "linkage_projects"
LISTED, WAITING, BUILDING, DONE = "入库待实施", "未开工", "在建", "已完工"
IMPLEMENTED = [WAITING, BUILDING, DONE]
INDUSTRY = "产业发展"
INDUSTRY_TYPES = ("种植业", "养殖业", "加工业", "休闲农业与乡村旅游", "其他产业")
INDUSTRY_FIGURES = ("planting", "breeding", "processing", "tourism", "other")
OTHER_TYPES = {  # category -> project types
    "基础设施": ("农村道路", "农田水利", "安全饮水"),
    "人居环境": ("人居环境整治",),
    "就业帮扶": ("就业帮扶",),
    "公益事业": ("公益设施",),
}
QUANTUM = 100  # 元: amounts are printed in 万元 with two decimals
# How the published fund totals split between industry and other projects (the split is not published;
# industry gets 13.42亿 of funds and 13.05亿 paid, as printed). 衔接资金 of industry: 65.7% of 14.91亿.
INDUSTRY_LINKAGE_FUNDS = 980_000_000
INDUSTRY_LINKAGE_SPENT = 955_000_000
PLANNED_OVER_FUNDS = 1.1  # an implemented project's 计划总投资 over its fiscal funds

LAYOUT = Layout(
    feed=FEED,
    stem="衔接资金项目",
    name="巩固拓展脱贫攻坚成果和乡村振兴衔接资金项目进度",
    totals=(
        Total("library_projects", measure("count")),
        Total("implemented", measure("count", status=IMPLEMENTED)),
        Total("started", measure("count", status=[BUILDING, DONE])),
        Total("in_progress", measure("count", status=BUILDING)),
        Total("completed", measure("count", status=DONE)),
        Total("completion_rate", rate_of=("completed", "implemented")),
        Total("fiscal_funds", measure("sum", "fiscal_funds")),
        Total("spent", measure("sum", "spent")),
        Total("spent_rate", rate_of=("spent", "fiscal_funds")),
        Total("linkage_funds", measure("sum", "linkage_funds")),
        Total("linkage_spent", measure("sum", "linkage_spent")),
        Total("linkage_spent_rate", rate_of=("linkage_spent", "linkage_funds")),
        Total("industry_projects", measure("count", category=INDUSTRY, status=IMPLEMENTED)),
    ),
)


@dataclass(frozen=True, slots=True)
class Project:
    number: str
    name: str
    county: str
    township: str
    category: str
    kind: str
    listed: dt.date
    chosen: int | None  # month it was chosen for implementation (None: stays in the library)
    started: int
    finished: int | None
    planned: int
    funds: int
    linkage: int
    spent: int  # by December
    linkage_spent: int
    households: int
    persons: int
    income: int

    def status(self, month: int) -> str:
        if self.chosen is None or month < self.chosen:
            return LISTED
        if self.finished is not None and month >= self.finished:
            return DONE
        return BUILDING if month >= self.started else WAITING

    def spending(self, month: int) -> tuple[int, int]:
        """(已支出, 衔接资金已支出) at the month's end: from the start to completion (or December)."""
        if self.chosen is None or month < self.started:
            return 0, 0
        last = self.finished or 12
        share = min(1.0, (month - self.started + 1) / (last - self.started + 1))
        if share >= 1:
            return self.spent, self.linkage_spent
        return (int(self.spent * share) // QUANTUM * QUANTUM, int(self.linkage_spent * share) // QUANTUM * QUANTUM)


@dataclass(frozen=True)
class Group:
    """Projects of one kind (industry or other, implemented or library only) and their totals."""

    industry: bool
    building: int
    done: int
    funds: int
    spent: int
    linkage: int
    linkage_spent: int


def targets(scale: float = 1.0) -> dict[str, int]:
    """December's city totals, by figure code (helpers included); at scale 1 the published ones."""
    count = figures.at_scale(
        (
            "industry_projects_completed",
            "linkage_projects_completed",
            "linkage_projects_in_progress",
            "project_library_projects",
        ),
        scale,
    )
    industry_building = scaled(figures.base("industry_projects") - figures.base("industry_projects_completed"), scale)
    money = figures.at_scale(
        (
            "industry_project_funds",
            "industry_project_funds_paid",
            "finance_funds",
            "finance_funds_spent",
            "linkage_funds",
            "linkage_funds_spent",
            "project_library_funds",
        ),
        scale,
    )
    industry = count["industry_projects_completed"] + industry_building
    types = apportion(industry, [figures.base(f"industry_projects_{name}") for name in INDUSTRY_FIGURES])
    households = scaled(figures.base("industry_benefit_households"), scale)
    implemented = count["linkage_projects_completed"] + count["linkage_projects_in_progress"]
    return {
        "project_library_projects": count["project_library_projects"],
        "project_library_funds": money["project_library_funds"],
        "linkage_projects": implemented,
        "linkage_projects_started": implemented,
        "linkage_projects_in_progress": count["linkage_projects_in_progress"],
        "linkage_projects_completed": count["linkage_projects_completed"],
        "finance_funds": money["finance_funds"],
        "finance_funds_spent": money["finance_funds_spent"],
        "linkage_funds": money["linkage_funds"],
        "linkage_funds_spent": money["linkage_funds_spent"],
        "industry_projects": industry,
        "industry_projects_started": industry,
        "industry_projects_completed": count["industry_projects_completed"],
        **{f"industry_projects_{name}": n for name, n in zip(INDUSTRY_FIGURES, types, strict=True)},
        "industry_project_funds": money["industry_project_funds"],
        "industry_project_funds_paid": money["industry_project_funds_paid"],
        "industry_linkage_funds": scaled(INDUSTRY_LINKAGE_FUNDS, scale),
        "industry_benefit_households": households,
        "industry_benefit_persons": scaled(figures.base("industry_benefit_persons"), scale),
        "industry_benefit_income": households * figures.base("industry_income_per_household"),
        "_industry_linkage_spent": scaled(INDUSTRY_LINKAGE_SPENT, scale),
    }


def _groups(goal: dict[str, int]) -> tuple[Group, Group]:
    industry_building = goal["industry_projects"] - goal["industry_projects_completed"]
    industry = Group(
        True,
        industry_building,
        goal["industry_projects_completed"],
        goal["industry_project_funds"],
        goal["industry_project_funds_paid"],
        goal["industry_linkage_funds"],
        goal["_industry_linkage_spent"],
    )
    other = Group(
        False,
        goal["linkage_projects_in_progress"] - industry_building,
        goal["linkage_projects_completed"] - goal["industry_projects_completed"],
        goal["finance_funds"] - industry.funds,
        goal["finance_funds_spent"] - industry.spent,
        goal["linkage_funds"] - industry.linkage,
        goal["linkage_funds_spent"] - industry.linkage_spent,
    )
    return industry, other


def _money(rng: random.Random, group: Group) -> list[tuple[int, int, int, int]]:
    """(funds, 衔接资金, spent, 衔接资金已支出) per project of a group: the group totals exactly, and every
    part within its whole (in-progress projects have spent less of their funds)."""
    size = group.building + group.done
    funds = apportion_in(group.funds, [rng.choice((0.4, 0.7, 1.0, 1.5, 2.5)) for _ in range(size)], QUANTUM)
    pace = [0.6] * group.building + [1.0] * group.done
    spent = apportion_in(group.spent, [f * p for f, p in zip(funds, pace, strict=True)], QUANTUM)
    linkage = apportion_in(group.linkage, funds, QUANTUM)
    linkage_spent = apportion_in(group.linkage_spent, [min(a, b) for a, b in zip(linkage, spent, strict=True)], QUANTUM)
    return list(zip(funds, linkage, spent, linkage_spent, strict=True))


def _kinds(rng: random.Random, group: Group, goal: dict[str, int]) -> list[tuple[str, str]]:
    size = group.building + group.done
    if group.industry:
        kinds = [
            kind
            for kind, name in zip(INDUSTRY_TYPES, INDUSTRY_FIGURES, strict=True)
            for _ in range(goal[f"industry_projects_{name}"])
        ]
        rng.shuffle(kinds)
        return [(INDUSTRY, kind) for kind in kinds]
    categories = rng.choices(list(OTHER_TYPES), weights=(55, 20, 10, 15), k=size)
    return [(category, rng.choice(OTHER_TYPES[category])) for category in categories]


@dataclass(frozen=True)
class _Plan:
    category: str
    kind: str
    done: bool | None  # completed by December, in progress, or None: stays in the library
    money: tuple[int, int, int, int]  # funds, 衔接资金, spent, 衔接资金已支出


def _plans(rng: random.Random, goal: dict[str, int]) -> list[_Plan]:
    """Implemented projects (industry, then other) with their money, then those only in the library."""
    plans = []
    for group in _groups(goal):
        statuses = [False] * group.building + [True] * group.done
        for done, (category, kind), money in zip(statuses, _kinds(rng, group, goal), _money(rng, group), strict=True):
            plans.append(_Plan(category, kind, done, money))
    choices = [(INDUSTRY, k) for k in INDUSTRY_TYPES] + [(c, k) for c, ks in OTHER_TYPES.items() for k in ks]
    for _ in range(goal["project_library_projects"] - len(plans)):
        category, kind = rng.choice(choices)
        plans.append(_Plan(category, kind, None, (0, 0, 0, 0)))
    return plans


def _timeline(rng: random.Random, plan: _Plan) -> tuple[dt.date, int | None, int, int | None]:
    """(listed, month chosen, month started, month finished): implemented projects were listed in 2020."""
    if plan.done is None:
        year = config.YEAR - 1 if rng.random() < 0.6 else config.YEAR
        return dt.date(year, rng.randint(1, 11), rng.randint(1, 28)), None, 13, None
    chosen = rng.randint(1, 5)
    started = rng.randint(chosen, 8)
    finished = rng.randint(started + 1, 12) if plan.done else None
    return dt.date(config.YEAR - 1, rng.randint(1, 12), rng.randint(1, 28)), chosen, started, finished


@cache
def projects(scale: float = 1.0) -> list[Project]:
    """Every project in the library (cached): implemented ones first, then those that only wait in it."""
    goal = targets(scale)
    rng = random.Random(FEED)
    plans = _plans(rng, goal)
    implemented = [plan for plan in plans if plan.done is not None]
    planned = [round(plan.money[0] * PLANNED_OVER_FUNDS / QUANTUM) * QUANTUM for plan in implemented]
    waiting = [rng.uniform(0.3, 2.0) for _ in range(len(plans) - len(implemented))]
    planned += apportion_in(goal["project_library_funds"] - sum(planned), waiting, QUANTUM)
    benefits = _benefits(rng, goal, [plan.category == INDUSTRY for plan in implemented])
    result = []
    for i, (plan, (county, township)) in enumerate(zip(plans, _places(rng, len(plans), scale), strict=True)):
        listed, chosen, started, finished = _timeline(rng, plan)
        number, name = f"XJ-{county}-{i + 1:05d}", f"{township}{plan.kind}项目"
        timeline = (listed, chosen, started, finished)
        result.append(
            Project(
                number,
                name,
                county,
                township,
                plan.category,
                plan.kind,
                *timeline,
                planned[i],
                *plan.money,
                *benefits[i],
            )
        )
    return result


def _places(rng: random.Random, count: int, scale: float) -> list[tuple[str, str]]:
    """(county, township) of each project: counties by rural and poor population, in a township of the county."""
    codes = [code for code, n in split(count, "mixed").items() for _ in range(n)]
    rng.shuffle(codes)
    residents = build(scale).counties
    return [(code, rng.choice(residents[code].households).township) for code in codes]


def _benefits(rng: random.Random, goal: dict[str, int], industry: Sequence[bool]) -> list[tuple[int, int, int]]:
    """(households, persons, income) each project reaches: the industry totals exactly; other projects
    reach some too (受益户); projects only in the library reach none."""
    weights = [rng.uniform(0.3, 1.7) for _ in industry]
    industry_weights = [w for w, is_industry in zip(weights, industry, strict=True) if is_industry]
    households = iter(apportion(goal["industry_benefit_households"], industry_weights))
    persons = iter(apportion(goal["industry_benefit_persons"], industry_weights))
    income = iter(apportion(goal["industry_benefit_income"], industry_weights))
    found = []
    for is_industry in industry:
        if is_industry:
            found.append((next(households), next(persons), next(income)))
        else:
            reached = rng.randint(20, 400)
            found.append((reached, round(reached * rng.uniform(2.2, 3.0)), 0))
    return found + [(0, 0, 0)] * goal["project_library_projects"]


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """Every project listed by the month's end, with its status and cumulative funds."""
    report = dt.date(config.YEAR, month, 1)
    for p in projects(scale):
        if p.listed > month_end(report):
            continue
        implemented = p.status(month) != LISTED
        spent, linkage_spent = p.spending(month)
        yield (
            p.number,
            p.name,
            p.county,
            p.township,
            p.category,
            p.kind,
            p.status(month),
            p.listed.isoformat(),
            p.planned,
            p.funds if implemented else 0,
            p.linkage if implemented else 0,
            spent,
            linkage_spent,
            p.households if implemented else 0,
            p.persons if implemented else 0,
            p.income if implemented else 0,
            report.isoformat(),
        )


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
