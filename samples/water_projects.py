"""Sample water-project feed (水利局: 四水共治): one project a row, its month-end status and investment.

An .xlsx workbook a month, amounts in 万元. Calibrated on the published figures: 53 projects with
74亿元 总投资, 37.11亿元 planned for 2021 and 34.1亿元 completed in 2021 by December (92% of plan);
all of them started during the year. Every project is on the register from January; its
年度完成投资 grows month by month from its start.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from include import config
from samples import figures
from samples.common import apportion_in, counties
from samples.delivery import Layout, Source, Total
from samples.measures import measure
from samples.population import split

FEED = "water_projects"
STARTED = ("在建", "已完工")
KINDS = {
    "水资源": ("引黄调蓄工程", "地下水超采综合治理", "农村供水保障工程"),
    "水生态": ("河道生态修复工程", "水系连通及水美乡村建设"),
    "水环境": ("农村黑臭水体治理", "城乡污水处理提质工程"),
    "水灾害防治": ("河道清淤疏浚工程", "水毁工程修复", "排涝泵站建设"),
}
QUANTUM = 100  # 元: amounts are printed in 万元 with two decimals

LAYOUT = Layout(
    feed=FEED,
    stem="四水共治项目",
    totals=(
        Total("projects", measure("count")),
        Total("started", measure("count", status=list(STARTED))),
        Total("total_investment", measure("sum", "total_investment")),
        Total("planned_2021", measure("sum", "planned_2021")),
        Total("completed_2021", measure("sum", "completed_2021")),
        Total("completion_rate", rate_of=("completed_2021", "planned_2021")),
    ),
    month_style="cn",
)


@dataclass(frozen=True, slots=True)
class Project:
    number: str
    name: str
    county: str
    kind: str
    total: int
    planned: int
    completed: int  # by December
    started: int  # month
    finished: int | None  # month

    def status(self, month: int) -> str:
        if self.finished is not None and month >= self.finished:
            return "已完工"
        return "在建" if month >= self.started else "未开工"

    def done_by(self, month: int) -> int:
        """年度完成投资 at the month's end: growing from the start month to December, in whole quanta."""
        if month < self.started:
            return 0
        last = self.finished or 12
        share = min(1.0, (month - self.started + 1) / (last - self.started + 1))
        return self.completed if share >= 1 else int(self.completed * share) // QUANTUM * QUANTUM


def targets(scale: float = 1.0) -> dict[str, int]:
    """The city totals of December's register, by figure code."""
    codes = ("water_projects", "water_total_investment", "water_planned_2021", "water_completed_2021")
    return figures.at_scale(codes, scale)


@cache
def projects(scale: float = 1.0) -> list[Project]:
    """Every project of the year (cached)."""
    goal = targets(scale)
    rng = random.Random(FEED)
    places = [code for code, n in split(goal["water_projects"], "rural").items() for _ in range(n)]
    names = {c.code: c.name for c in counties()}
    sizes = [rng.choice((0.3, 0.6, 1.0, 1.8, 3.0)) for _ in places]
    totals = apportion_in(goal["water_total_investment"], sizes, QUANTUM)
    planned = apportion_in(goal["water_planned_2021"], totals, QUANTUM)
    completed = apportion_in(goal["water_completed_2021"], planned, QUANTUM)
    result = []
    for i, code in enumerate(places):
        kind = rng.choice(list(KINDS))
        started = rng.randint(1, 9)
        finished = rng.randint(started + 2, 12) if started <= 8 and rng.random() < 0.3 else None
        name = f"{names[code]}{rng.choice(KINDS[kind])}"
        result.append(
            Project(
                f"SSGZ-{config.YEAR}-{i + 1:03d}",
                name,
                code,
                kind,
                totals[i],
                planned[i],
                completed[i],
                started,
                finished,
            )
        )
    return result


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """Every project with its status and investment at the month's end."""
    report = dt.date(config.YEAR, month, 1).isoformat()
    for p in projects(scale):
        yield (p.number, p.name, p.county, p.kind, p.status(month), p.total, p.planned, p.done_by(month), report)


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
