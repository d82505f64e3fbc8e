"""Sample student-loan feed (教育局 学生资助管理中心: 生源地信用助学贷款): one loan (or relief case) a row.

An .xlsx workbook a month: every loan issued in 2021 up to the month's end, and every repayment the
风险补偿金 relieved (还款救助, on older loans of graduates in hardship). Calibrated on the published
figures "as of 2021-10-10": 39,735 students with a loan issued from 1 January to 10 October, 3.15亿元
in all, and 34 borrowers relieved in that time. A few loans are issued and relieved after 10 October,
so the figures need the date filter, not just the latest file. Most loans are issued in August and
September; the student's parent (the household head) is the co-borrower.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from include import config
from samples import figures
from samples.common import apportion_in
from samples.delivery import Layout, Source, Total
from samples.measures import measure
from samples.population import Household, Residents, Unit, age, build, draw, split_by

FEED = "student_loans"
NEW, RELIEF = "新发放贷款", "还款救助"
AS_OF = dt.date(config.YEAR, 10, 10)
LATE_SHARE = 0.03  # loans issued after 10 October, beyond the published figure
ISSUE_WEIGHTS = (1, 1, 1, 1, 1, 1, 5, 28, 40, 21)  # January–October (October: up to the 10th)
DEGREES = (("专科", "本科", "研究生"), (40, 55, 5))
UNIVERSITIES = (
    "郑州大学",
    "河南大学",
    "商丘师范学院",
    "河南理工大学",
    "河南农业大学",
    "商丘学院",
    "黄淮学院",
    "河南工业大学",
)

LAYOUT = Layout(
    feed=FEED,
    stem="生源地信用助学贷款",
    totals=(
        Total("loan_students", measure("count_distinct", "student_id", business_type=NEW)),
        Total("loan_amount", measure("sum", "loan_amount", business_type=NEW)),
        Total("relief_students", measure("count_distinct", "student_id", business_type=RELIEF)),
        Total("relief_amount", measure("sum", "relief_amount", business_type=RELIEF)),
    ),
    dashes=("relief_amount",),
)


@dataclass(frozen=True, slots=True)
class Loan:
    student: str
    household: Household
    university: str
    degree: str
    contract_no: str
    business_type: str
    business_date: dt.date
    loan_year: int
    loan_amount: int
    relief_amount: int


def targets(scale: float = 1.0) -> dict[str, int]:
    """The city totals as of 2021-10-10 the detail adds up to, by figure code."""
    codes = ("student_loan_persons", "student_loan_amount", "student_loan_relief_persons")
    return figures.at_scale(codes, scale)


def _students(residents: Residents, youngest: int, oldest: int) -> list[Unit]:
    return [([p], h) for p, h in residents.people if youngest <= age(p) <= oldest and p != h.head]


def _issue_date(rng: random.Random, late: bool) -> dt.date:
    if late:
        return AS_OF + dt.timedelta(days=rng.randint(1, 70))
    month = rng.choices(range(1, 11), weights=ISSUE_WEIGHTS)[0]
    return dt.date(config.YEAR, month, rng.randint(1, 10 if month == 10 else 28))


def _county_loans(
    rng: random.Random, code: str, pools: tuple[list[Unit], list[Unit]], counts: tuple[int, int, int], amount: int
) -> list[Loan]:
    students, graduates = pools
    persons, late, relieved = counts
    borrowers = students[: persons + late]
    amounts = apportion_in(amount, [rng.uniform(0.6, 1.4) for _ in range(persons)], 100)
    amounts += [rng.randrange(4000, 12001, 500) for _ in range(late)]
    loans = []
    for i, ((members, h), loan_amount) in enumerate(zip(borrowers, amounts, strict=True)):
        degree = rng.choices(*DEGREES)[0]
        loans.append(
            Loan(
                members[0],
                h,
                rng.choice(UNIVERSITIES),
                degree,
                f"{code}{config.YEAR}{i + 1:06d}",
                NEW,
                _issue_date(rng, i >= persons),
                config.YEAR,
                loan_amount,
                0,
            )
        )
    extra = max(1, round(relieved * 0.1)) if relieved else 0
    for i, (members, h) in enumerate(graduates[: relieved + extra]):
        year = rng.randint(2013, 2017)
        day = (
            AS_OF - dt.timedelta(days=rng.randint(0, 270))
            if i < relieved
            else AS_OF + dt.timedelta(days=rng.randint(1, 70))
        )
        loans.append(
            Loan(
                members[0],
                h,
                rng.choice(UNIVERSITIES),
                "本科",
                f"{code}{year}{i + 1:06d}",
                RELIEF,
                day,
                year,
                6000,
                rng.randrange(800, 6001, 100),
            )
        )
    return sorted(loans, key=lambda loan: loan.business_date)


@cache
def loans(scale: float = 1.0) -> dict[str, list[Loan]]:
    """Every county's loans and relief cases of the year, by date (cached)."""
    goal = targets(scale)
    counties = build(scale).counties
    pools = {}
    for code, residents in counties.items():
        rng = random.Random(f"{FEED}-{code}")
        pools[code] = (draw(rng, [_students(residents, 18, 24)]), draw(rng, [_students(residents, 25, 31)]))
    persons = split_by(goal["student_loan_persons"], {code: len(p[0]) for code, p in pools.items()})
    amounts = split_by(goal["student_loan_amount"], persons)
    relieved = split_by(goal["student_loan_relief_persons"], persons)
    result = {}
    for code in counties:
        rng = random.Random(f"{FEED}-{code}-loans")
        counts = (persons[code], round(persons[code] * LATE_SHARE), relieved[code])
        result[code] = _county_loans(rng, code, pools[code], counts, amounts[code])
    return result


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """Every loan and relief case dated up to the month's end, county by county."""
    report = dt.date(config.YEAR, month, 1)
    end = (report.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    for code, county in loans(scale).items():
        for loan in county:
            if loan.business_date >= end:
                break
            yield (
                code,
                loan.student,
                loan.household.head,
                loan.university,
                loan.degree,
                loan.contract_no,
                loan.business_type,
                loan.business_date.isoformat(),
                loan.loan_year,
                loan.loan_amount,
                loan.relief_amount,
                report.isoformat(),
            )


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
