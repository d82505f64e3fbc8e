"""Sample monitored-household feed (乡村振兴局: 三类户 防返贫监测): one household a row, month-end status.

An .xlsx workbook a month: every 三类户 identified by the month's end (households whose risk is
cleared stay on the register with 风险已消除 = 是). The households come from the population, where
they are calibrated on the published December figures: 21,284 households and 54,712 persons;
脱贫不稳定户 5,908 / 16,373, 边缘易致贫户 9,251 / 21,816, 突发严重困难户 6,125 / 16,523; cleared
3,979 / 10,994, 5,981 / 13,267 and 2,180 / 5,586 (figures.yml explains why not the printed 56,586);
6,812 households and 18,606 persons identified since 2021-01-01. Risks are cleared during the year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from include import config
from samples.delivery import Layout, Source, Total
from samples.measures import measure
from samples.population import CATEGORIES, CATEGORY_CODES, build, monitored_cells

FEED = "monitored_households"
YES, NO = "是", "否"


def _category_totals() -> tuple[Total, ...]:
    found: list[Total] = []
    for category in CATEGORIES:
        code = CATEGORY_CODES[category]
        found.append(Total(f"{code}_households", measure("count", category=category)))
        found.append(Total(f"{code}_persons", measure("sum", "persons", category=category)))
        found.append(Total(f"{code}_cleared_households", measure("count", category=category, risk_cleared=YES)))
        found.append(Total(f"{code}_cleared_persons", measure("sum", "persons", category=category, risk_cleared=YES)))
    return tuple(found)


LAYOUT = Layout(
    feed=FEED,
    stem="防返贫监测对象",
    totals=(
        Total("households", measure("count")),
        Total("persons", measure("sum", "persons")),
        *_category_totals(),
        Total("cleared_households", measure("count", risk_cleared=YES)),
        Total("cleared_persons", measure("sum", "persons", risk_cleared=YES)),
        Total("cleared_share", rate_of=("cleared_households", "households")),
    ),
    month_style="cn",
)


def targets(scale: float = 1.0) -> dict[str, int]:
    """December's city totals, by figure code: sums of the calibrated 三类户 cells."""
    cells = monitored_cells(scale)
    found: dict[str, int] = {}

    def add(code: str, households: int, persons: int) -> None:
        found[f"{code}_households"] = found.get(f"{code}_households", 0) + households
        found[f"{code}_persons"] = found.get(f"{code}_persons", 0) + persons

    for cell in cells:
        prefix = CATEGORY_CODES[cell.category]
        add("monitored", cell.households, cell.persons)
        add(prefix, cell.households, cell.persons)
        if cell.cleared:
            add(f"{prefix}_cleared", cell.households, cell.persons)
            add("cleared", cell.households, cell.persons)
        if cell.added:
            add("monitored_added_2021", cell.households, cell.persons)
    found["monitored_households_added_2021"] = found.pop("monitored_added_2021_households")
    found["monitored_persons_added_2021"] = found.pop("monitored_added_2021_persons")
    return found


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """The register at the month's end, county by county, in order of identification."""
    report = dt.date(config.YEAR, month, 1).isoformat()
    for code, residents in build(scale).counties.items():
        for m in sorted(residents.monitored, key=lambda m: (m.identified, m.household.number)):
            if m.listed_in(month):
                h = m.household
                cleared = YES if m.cleared_by(month) else NO
                yield (
                    code,
                    h.township,
                    h.village,
                    h.number,
                    h.head,
                    m.category,
                    len(h.members),
                    m.identified.isoformat(),
                    m.risk,
                    cleared,
                    m.income,
                    report,
                )


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
