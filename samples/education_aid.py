"""Sample education-aid feed (教育局 / 人社局: 教育资助, 雨露计划, 新生路费): one payment a row.

An .xlsx workbook a month. Calibrated on the published figures: 371,391 教育资助 payments (人次) of
2.4亿元 in all; 16,366 雨露计划 payments of 1,500 元 each (2454.9万元); 2,781 大学新生 paid 路费及
短期生活费, 500 元 in the province and 1,000 元 outside (163.4万元, which makes 487 of them outside).
Student aid is paid per term (spring: March–June, autumn: September–December) at the standard of
the student's stage, in steps of 25 元; 雨露计划 goes to 脱贫户 and 监测户 students in vocational
schools; 新生路费 from July to September. Each student's 家长 is the head of their household.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from include import config
from samples import figures
from samples.common import apportion_in, scaled
from samples.delivery import Layout, Source, Total
from samples.measures import measure
from samples.population import Household, Residents, Unit, age, build, draw, split_by

FEED = "education_aid"
AID, YULU, FRESHMAN = "教育资助", "雨露计划", "新生路费"
YULU_STANDARD = 1500
FRESHMAN_STANDARDS = (500, 1000)  # in the province, outside it
# Paid per term: spring from February, autumn from September (January pays what the 2020 autumn term left).
SPRING, AUTUMN = (2, 3, 4, 5, 6), (1, 9, 10, 11, 12)
TERM_WEIGHTS = (5, 20, 35, 25, 15)
STAGES = (  # (last age, stage, item, standard per term in 元)
    (5, "学前", "学前教育资助", 500),
    (11, "小学", "义务教育家庭经济困难学生生活补助", 500),
    (14, "初中", "义务教育家庭经济困难学生生活补助", 625),
    (18, "高中", "普通高中国家助学金", 1000),
)
VOCATIONAL = ("中职", "中职国家助学金", 1000)
COLLEGES = ("商丘职业技术学院", "商丘工学院", "永城职业学院", "河南省经济管理学校", "郑州铁路职业技术学院")
UNIVERSITIES = (
    ("郑州大学", "河南大学", "商丘师范学院", "河南理工大学"),
    ("武汉大学", "山东大学", "南京农业大学", "西北工业大学"),
)

LAYOUT = Layout(
    feed=FEED,
    stem="学生资助发放",
    totals=(
        Total("aid_times", measure("count", program=AID)),
        Total("aid_amount", measure("sum", "amount", program=AID)),
        Total("yulu_times", measure("count", program=YULU)),
        Total("yulu_amount", measure("sum", "amount", program=YULU)),
        Total("freshman_persons", measure("count_distinct", "student_id", program=FRESHMAN)),
        Total("freshman_amount", measure("sum", "amount", program=FRESHMAN)),
    ),
    county_style="spaced",
    month_style="cn",
    date_style="cn",
)


@dataclass(frozen=True, slots=True)
class Payment:
    month: int
    student: str
    household: Household
    program: str
    item: str
    stage: str
    school: str
    amount: int


def targets(scale: float = 1.0) -> dict[str, int]:
    """The city totals the detail adds up to, by figure code (雨露计划 and 新生路费 amounts follow their
    standards, so at scale 1 they are the published amounts)."""
    persons = scaled(figures.base("freshman_travel_persons"), scale)
    inside_standard, outside_standard = FRESHMAN_STANDARDS
    outside_at_1 = (
        figures.base("freshman_travel_amount") - inside_standard * figures.base("freshman_travel_persons")
    ) // (outside_standard - inside_standard)
    outside = scaled(outside_at_1, scale)
    yulu = scaled(figures.base("yulu_persons"), scale)
    return {
        "education_aid_persons": scaled(figures.base("education_aid_persons"), scale),
        "education_aid_amount": scaled(figures.base("education_aid_amount"), scale),
        "yulu_persons": yulu,
        "yulu_amount": YULU_STANDARD * yulu,
        "freshman_travel_persons": persons,
        "freshman_travel_amount": inside_standard * (persons - outside) + outside_standard * outside,
        "_freshman_outside": outside,
    }


def _children(residents: Residents, kinds: Sequence[str], youngest: int, oldest: int) -> list[Unit]:
    return [([p], h) for p, h in residents.people if h.kind in kinds and youngest <= age(p) <= oldest and p != h.head]


def _stage(rng: random.Random, years: int, township: str) -> tuple[str, str, str, int]:
    """A student's stage, aid item, school and term standard."""
    for last, stage, item, standard in STAGES:
        if years <= last:
            if stage == "高中" and rng.random() < 0.3:
                vocational, vocational_item, vocational_standard = VOCATIONAL
                return vocational, vocational_item, "县职业教育中心", vocational_standard
            school = {"学前": "中心幼儿园", "小学": "中心小学", "初中": "初级中学"}.get(stage)
            return stage, item, f"{township}{school}" if school else "县第一高级中学", standard
    raise ValueError(f"no school stage for age {years}")


def _aid(rng: random.Random, code: str, pool: list[Unit], times: int, amount: int) -> list[Payment]:
    """教育资助: each student paid once per term at their standard (twice a term for some: two items)."""
    students = pool[: math.ceil(times / 2)]
    if len(students) * 4 < times:
        raise ValueError(f"{code}: {times} aid payments need more students than {len(pool)}")
    plan: list[tuple[int, str, Household, tuple[str, str, str, int]]] = []
    stage_of = {members[0]: _stage(rng, age(members[0]), h.township) for members, h in students}
    for round_no in range(4):
        for members, h in students:
            if len(plan) == times:
                break
            months = SPRING if round_no % 2 == 0 else AUTUMN
            plan.append((rng.choices(months, weights=TERM_WEIGHTS)[0], members[0], h, stage_of[members[0]]))
    amounts = apportion_in(amount, [p[3][3] for p in plan], 25)
    return [
        Payment(m, s, h, AID, item, stage, school, a)
        for (m, s, h, (stage, item, school, _)), a in zip(plan, amounts, strict=True)
    ]


def _yulu(rng: random.Random, pool: list[Unit], times: int) -> list[Payment]:
    """雨露计划: 1,500 元 per term to vocational students of 脱贫户 and 监测户 (April–May, October–November)."""
    students = pool[: math.ceil(times / 2)]
    payments = []
    for i in range(times):
        members, h = students[i % len(students)]
        month = rng.choice((4, 5)) if i < len(students) else rng.choice((10, 11))
        payments.append(
            Payment(month, members[0], h, YULU, "雨露计划职业教育助学补贴", "中职", rng.choice(COLLEGES), YULU_STANDARD)
        )
    return payments


def _freshmen(rng: random.Random, pool: list[Unit], persons: int, outside: int) -> list[Payment]:
    """新生路费: once, from July (admission letters) to September, to 大学新生 of poor and low-income households."""
    payments = []
    for i, (members, h) in enumerate(pool[:persons]):
        far = i < outside
        school = rng.choice(UNIVERSITIES[far])
        item = "大学新生入学路费及短期生活费（省外）" if far else "大学新生入学路费及短期生活费（省内）"
        payments.append(
            Payment(rng.choice((7, 8, 8, 9)), members[0], h, FRESHMAN, item, "本科", school, FRESHMAN_STANDARDS[far])
        )
    return payments


@cache
def payments(scale: float = 1.0) -> dict[str, list[Payment]]:
    """Every county's payments of the year, in month order (cached). Counties share the city totals in
    proportion to their eligible students."""
    goal = targets(scale)
    counties = build(scale).counties
    pools = {code: _pools(random.Random(f"{FEED}-{code}"), residents) for code, residents in counties.items()}
    aid_times = split_by(goal["education_aid_persons"], {code: len(p[0]) for code, p in pools.items()})
    aid_amount = split_by(goal["education_aid_amount"], aid_times)
    yulu = split_by(goal["yulu_persons"], {code: len(p[1]) for code, p in pools.items()})
    freshmen = split_by(goal["freshman_travel_persons"], {code: len(p[2]) for code, p in pools.items()})
    outside = split_by(goal["_freshman_outside"], freshmen)
    result = {}
    for code in counties:
        rng = random.Random(f"{FEED}-{code}-pay")
        aid_pool, yulu_pool, freshman_pool = pools[code]
        found = [
            *_aid(rng, code, aid_pool, aid_times[code], aid_amount[code]),
            *_yulu(rng, yulu_pool, yulu[code]),
            *_freshmen(rng, freshman_pool, freshmen[code], outside[code]),
        ]
        result[code] = sorted(found, key=lambda p: p.month)
    return result


def _pools(rng: random.Random, residents: Residents) -> tuple[list[Unit], list[Unit], list[Unit]]:
    """Students of the county: school-age children (poor households first), vocational students of
    脱贫户 and 监测户, and new university students."""
    return (
        draw(rng, [_children(residents, ("脱贫户", "监测户"), 3, 18), _children(residents, ("一般农户",), 3, 18)]),
        draw(rng, [_children(residents, ("脱贫户", "监测户"), 16, 20)]),
        draw(rng, [_children(residents, ("脱贫户", "监测户"), 18, 19), _children(residents, ("一般农户",), 18, 19)]),
    )


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """The month's payments, county by county."""
    report = dt.date(config.YEAR, month, 1).isoformat()
    for code, county in payments(scale).items():
        paid_on = dt.date(config.YEAR, month, 18).isoformat()
        for p in county:
            if p.month == month:
                yield (
                    code,
                    p.school,
                    p.student,
                    p.household.head,
                    p.program,
                    p.item,
                    p.stage,
                    p.amount,
                    paid_on,
                    report,
                )


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
