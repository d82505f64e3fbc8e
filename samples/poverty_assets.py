"""Sample poverty-alleviation asset feed (乡村振兴局: 扶贫项目资产): one asset a row, month-end register.

An .xlsx workbook a month, values in 万元. Calibrated on the published figure: the assets formed
2013–2020 that are 已确权登记 by December are worth 97.83亿元. Registration (确权登记) proceeds
through the year; a few older assets are still unregistered in December, and assets formed in 2021
join the register as they are formed (neither counts in the published figure: the filter on the
year formed and the registration matters). The village PV stations are 经营性资产 here (asset
number ZC-<station number>).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from include import config
from samples import figures, pv_stations
from samples.common import apportion_in, scaled
from samples.delivery import Layout, Source, Total
from samples.measures import measure
from samples.population import build, split

FEED = "poverty_assets"
REGISTERED, UNREGISTERED = "已确权登记", "未确权登记"
OTHER_ASSETS = 13_056  # registered 2013–2020 assets besides the 944 PV stations, at scale 1
UNREGISTERED_OLD = 500  # 2013–2020 assets still unregistered in December
FORMED_2021 = 800
QUANTUM = 100  # 元: values are printed in 万元 with two decimals
KINDS = {  # category -> (share, subcategories, value range in 万元, custodian)
    "经营性资产": (22, ("扶贫车间", "种养殖基地", "冷库", "农产品加工厂"), (30, 300), "村集体经济组织"),
    "公益性资产": (40, ("村内道路", "桥梁", "安全饮水工程", "农田水利设施", "村级活动场所"), (20, 200), "乡镇人民政府"),
    "到户类资产": (38, ("种养殖到户", "农机具", "庭院经济"), (0.5, 3), "农户"),
}

LAYOUT = Layout(
    feed=FEED,
    stem="扶贫项目资产",
    totals=(
        Total("assets", measure("count")),
        Total("asset_value", measure("sum", "value")),
        Total("registered_assets", measure("count", registration=REGISTERED)),
        Total("registered_value", measure("sum", "value", registration=REGISTERED)),
        Total("registered_rate", rate_of=("registered_value", "asset_value")),
    ),
    county_style="spaced",
    month_style="cn",
)


class _Described(NamedTuple):
    """What an asset is and where: the register's columns from its number to its subcategory, and its custodian."""

    number: str
    name: str
    county: str
    township: str
    village: str
    category: str
    subcategory: str
    custodian: str


@dataclass(frozen=True, slots=True)
class Asset:
    described: _Described
    formed: dt.date
    value: int
    registered: int | None  # month of 2021 it was registered; None: not by December

    def registration(self, month: int) -> str:
        return REGISTERED if self.registered is not None and self.registered <= month else UNREGISTERED


def targets(scale: float = 1.0) -> dict[str, int]:
    """December's registered 2013–2020 asset value, by figure code."""
    return {"poverty_assets_registered": scaled(figures.base("poverty_assets_registered"), scale)}


def _described(rng: random.Random, code: str, scale: float, index: int, year: int) -> _Described:
    """An asset other than a PV station, in a village of the county."""
    category = rng.choices(list(KINDS), weights=[k[0] for k in KINDS.values()])[0]
    _, subcategories, _, custodian = KINDS[category]
    h = rng.choice(build(scale).counties[code].households)
    subcategory = rng.choice(subcategories)
    name = f"{h.village}{subcategory}"
    return _Described(
        f"ZC-{code}-{year}-{index:05d}", name, code, h.township, h.village, category, subcategory, custodian
    )


def _inventory(rng: random.Random, scale: float) -> list[tuple[_Described, dt.date, float, bool]]:
    """(asset, formed, value weight in 万元, counted in the figure): PV stations, other assets formed
    2013–2020 (registered during 2021, or a few not), and assets formed in 2021."""
    found = []
    for station in pv_stations.stations(scale):
        formed = dt.date(station.built, rng.randint(1, 12), rng.randint(1, 28))
        where = (station.county, station.township, station.village)
        asset = _Described(f"ZC-{station.number}", station.name, *where, "经营性资产", "光伏电站", "村集体经济组织")
        found.append((asset, formed, station.capacity_kw * 0.4, True))
    groups = ((OTHER_ASSETS, True, 2013, 2020), (UNREGISTERED_OLD, False, 2013, 2020))
    index = 0
    for count, counted, first, last in (*groups, (FORMED_2021, False, config.YEAR, config.YEAR)):
        for code, n in split(scaled(count, scale), "poverty").items():
            for _ in range(n):
                index += 1
                year = rng.randint(first, last)
                formed = dt.date(year, rng.randint(1, 12 if year < config.YEAR else 11), rng.randint(1, 28))
                asset = _described(rng, code, scale, index, year)
                low, high = KINDS[asset.category][2]
                found.append((asset, formed, rng.uniform(low, high), counted))
    return found


@cache
def assets(scale: float = 1.0) -> list[Asset]:
    """The register of the year (cached); the counted assets' values add up to the published figure."""
    rng = random.Random(FEED)
    inventory = _inventory(rng, scale)
    weights = [weight for _, _, weight, counted in inventory if counted]
    counted_values = iter(apportion_in(targets(scale)["poverty_assets_registered"], weights, QUANTUM))
    result = []
    for asset, formed, weight, counted in inventory:
        registered: int | None
        if counted:
            value, registered = next(counted_values), rng.randint(1, 11)
        else:
            value = max(QUANTUM, round(weight * 10_000 / QUANTUM) * QUANTUM)
            late = formed.year == config.YEAR and rng.random() < 0.3
            registered = rng.randint(formed.month + 1, 12) if late else None
        result.append(Asset(asset, formed, value, registered))
    return result


def records(month: int, scale: float = 1.0) -> Iterator[tuple[object, ...]]:
    """The register at the month's end."""
    report = dt.date(config.YEAR, month, 1)
    for a in assets(scale):
        if a.formed.year < config.YEAR or a.formed.month <= month:
            *what, custodian = a.described
            yield (*what, a.formed.year, a.value, a.registration(month), custodian, report.isoformat())


SOURCE = Source(LAYOUT, records)
file_name = SOURCE.file_name
generate = SOURCE.generate
