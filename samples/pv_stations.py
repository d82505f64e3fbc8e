"""Sample village PV-station feed (供电公司: 村级光伏电站): one station in one month a row.

A CSV pair a month in GB18030, as the power company's settlement system exports it. Calibrated on
the published figures: 944 stations, 10.54亿千瓦时 sent to the grid in 2021 and 3.98亿元 of
electricity fees paid (to the fen). Generation follows the seasons and each station's capacity; a
station in 故障 or 检修 sends less that month. The stations are also on the 扶贫资产 register.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from include import config
from samples import figures
from samples.common import apportion
from samples.delivery import Layout, Source, Total
from samples.measures import measure
from samples.population import build, split

FEED = "pv_stations"
SUN = (6.0, 6.5, 8.5, 9.5, 10.5, 10.0, 9.5, 9.5, 8.5, 8.0, 6.5, 6.0)  # generation by month
OUTAGE = {"正常": 1.0, "检修": 0.6, "故障": 0.25}

LAYOUT = Layout(
    feed=FEED,
    stem="村级光伏电站",
    totals=(
        Total("stations", measure("count_distinct", "station_no")),
        Total("grid_kwh", measure("sum", "grid_kwh")),
        Total("fee", measure("sum", "fee")),
    ),
    form="csv",
    encoding="gb18030",
    month_style="compact",
)


@dataclass(frozen=True, slots=True)
class Station:
    number: str
    name: str
    county: str
    township: str
    village: str
    capacity_kw: int
    built: int  # year


def targets(scale: float = 1.0) -> dict[str, int]:
    """The city totals of the year, by figure code (the fee in 元; settled to the fen)."""
    return figures.at_scale(("pv_stations", "pv_generation", "pv_revenue"), scale)


@cache
def stations(scale: float = 1.0) -> list[Station]:
    """The stations (cached), in villages of the population, counties by their poor households."""
    rng = random.Random(FEED)
    result = []
    residents = build(scale).counties
    for code, count in split(targets(scale)["pv_stations"], "poverty").items():
        for i in range(count):
            h = rng.choice(residents[code].households)
            capacity = rng.choice((300, 500, 800, 1000, 1200, 1500, 2000))
            result.append(
                Station(
                    f"PV{code}{i + 1:04d}",
                    f"{h.village}村级光伏电站",
                    code,
                    h.township,
                    h.village,
                    capacity,
                    rng.choice((2016, 2017, 2018, 2019)),
                )
            )
    return result


@cache
def settlements(scale: float = 1.0) -> dict[int, list[tuple[Station, str, int, Decimal]]]:
    """Each month's (station, status, kWh, fee) (cached): the year's kWh and fee totals exactly."""
    goal = targets(scale)
    rng = random.Random(f"{FEED}-months")
    rows = []
    for month in range(1, 13):
        for station in stations(scale):
            status = rng.choices(list(OUTAGE), weights=(92, 5, 3))[0]
            rows.append(
                (month, station, status, station.capacity_kw * SUN[month - 1] * OUTAGE[status] * rng.uniform(0.9, 1.1))
            )
    kwh = apportion(goal["pv_generation"], [w for *_, w in rows])
    fen = apportion(goal["pv_revenue"] * 100, kwh)
    by_month: dict[int, list[tuple[Station, str, int, Decimal]]] = {m: [] for m in range(1, 13)}
    for (month, station, status, _), energy, paid in zip(rows, kwh, fen, strict=True):
        by_month[month].append((station, status, energy, Decimal(paid).scaleb(-2)))
    return by_month


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """The month's settlements, station by station."""
    report = dt.date(config.YEAR, month, 1).isoformat()
    for s, status, energy, fee in settlements(scale)[month]:
        yield (s.number, s.name, s.county, s.township, s.village, s.capacity_kw, status, energy, fee, report)


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
