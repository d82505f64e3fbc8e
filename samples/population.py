"""One deterministic population per county that every sample feed draws from.

Each county has households of three kinds: 脱贫户 (as many as the league table's 享受政策的已脱贫户),
监测户 (the 三类户, calibrated on the published category counts) and 一般农户 (other rural households
that 低保, 特困, the disability subsidies and student aid also reach). Every member has a valid
18-digit ID (GB 11643 check digit, 4114xx region, birth date fitting their place in the household),
unique across the city. The microcredit feed's borrowers are the heads of 脱贫户 and 监测户 here, so a
loan to a 监测户 is a loan to a household on the 三类户 register; every other feed draws its people from
these households, so the same person shows up consistently in 低保, disability, employment, aid and
early-warning files. ``outsider`` makes IDs that belong to nobody here (the early-warning list's
unknown people).

Rosters (``roster``) put persons on a monthly payment list with entries and exits during the year, with
exactly the target number on December's list; ``allocate`` splits a yearly amount over their payments
exactly.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from include import config
from samples import figures, microcredit
from samples.common import apportion, counties, county_code, month_end, person_id, scaled

# Rough rural population (万人) by county: the weight of programs that reach every rural resident.
RURAL_POPULATION = {
    "411402": 45,
    "411403": 55,
    "411421": 75,
    "411422": 70,
    "411423": 52,
    "411424": 80,
    "411425": 95,
    "411426": 95,
    "411481": 110,
    "411499": 18,
}
GENERAL_HOUSEHOLDS = 240_000  # 一般农户 in the population at scale 1
HOUSEHOLD_SIZES = ((1, 2, 3, 4, 5, 6), (24, 22, 20, 18, 10, 6))
CATEGORIES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
CATEGORY_CODES = {"脱贫不稳定户": "unstable", "边缘易致贫户": "marginal", "突发严重困难户": "hardship"}
# Of the 三类户 identified since 2021-01-01 (6812 households, 18606 persons), how many in each category:
# not published, so chosen here; 突发严重困难户 is mostly new in 2021 (the category dates from 2021).
ADDED_HOUSEHOLDS = {"脱贫不稳定户": 900, "边缘易致贫户": 1100}
ADDED_PERSONS = {"脱贫不稳定户": 2500, "边缘易致贫户": 2640}
RISKS = {
    "脱贫不稳定户": (
        ("因病", "因残", "因学", "因务工就业不稳", "缺劳动力", "因产业项目失败", "其他"),
        (35, 15, 10, 15, 15, 5, 5),
    ),
    "边缘易致贫户": (("因病", "因残", "因学", "因务工就业不稳", "缺劳动力", "其他"), (35, 15, 12, 18, 12, 8)),
    "突发严重困难户": (("因病", "因意外事故", "因灾", "其他"), (40, 20, 30, 10)),
}
ADDED_MONTH_WEIGHTS = (5, 4, 6, 6, 7, 7, 14, 16, 12, 9, 8)  # identified Jan–Nov 2021: the July floods show


@dataclass(frozen=True, slots=True)
class Household:
    county: str  # county code
    number: str  # 户编号
    kind: str  # 脱贫户 / 监测户 / 一般农户
    township: str
    village: str
    members: tuple[str, ...]  # resident IDs, the head first

    @property
    def head(self) -> str:
        return self.members[0]


@dataclass(frozen=True, slots=True)
class Monitoring:
    """A 三类户's monitoring record."""

    household: Household
    category: str
    identified: dt.date
    cleared: int | None  # month of 2021 its risk was cleared (0: before 2021); None: not cleared
    risk: str
    income: int  # 人均纯收入, 元

    def cleared_by(self, month: int) -> bool:
        return self.cleared is not None and self.cleared <= month

    def listed_in(self, month: int) -> bool:
        return self.identified <= _month_end(month)


@dataclass
class Residents:
    """One county's households, its 三类户 records, and its people (ID, household) in a fixed order."""

    code: str
    households: list[Household]
    monitored: list[Monitoring]
    people: list[tuple[str, Household]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.people = [(member, h) for h in self.households for member in h.members]


@dataclass(frozen=True)
class Population:
    scale: float
    counties: dict[str, Residents]
    ids: frozenset[str]  # every ID of the population, microcredit's borrowers included

    def outsider(self, rng: random.Random, region: str) -> str:
        """A valid ID that belongs to nobody in the population (nor to any borrower)."""
        while True:
            born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(365 * 60))
            candidate = person_id(rng, region, born, set())
            if candidate not in self.ids:
                return candidate


def _month_end(month: int) -> dt.date:
    return month_end(dt.date(config.YEAR, month, 1))


def region(code: str) -> str:
    """The registration region of a county's residents (示范区 residents are registered in 梁园区)."""
    return "411402" if code == "411499" else code


@cache
def weights(kind: str) -> dict[str, float]:
    """County weights: ``rural`` (rural population), ``poverty`` (eligible 脱贫户 and 监测户 of the league
    table), or ``mixed`` (half each: programs for the poor and the rural low-income alike)."""
    with open(config.REFERENCE_DIR / "ref_microcredit_league_2021_12.csv", encoding="utf-8") as handle:
        league = {
            r["county_name"]: int(r["lifted_households"]) + int(r["monitored_households"])
            for r in csv.DictReader(handle)
        }
    rural_total = sum(RURAL_POPULATION.values())
    poverty_total = sum(league[c.name] for c in counties())
    rural = {c.code: RURAL_POPULATION[c.code] / rural_total for c in counties()}
    poverty = {c.code: league[c.name] / poverty_total for c in counties()}
    if kind == "rural":
        return rural
    if kind == "poverty":
        return poverty
    return {code: (rural[code] + poverty[code]) / 2 for code in rural}


def split(total: int, kind: str) -> dict[str, int]:
    """A city total apportioned to the counties by ``weights(kind)``; the parts add up exactly."""
    codes = [c.code for c in counties()]
    return dict(zip(codes, apportion(total, [weights(kind)[code] for code in codes]), strict=True))


def split_by(total: int, sizes: dict[str, int]) -> dict[str, int]:
    """A city total apportioned to counties in proportion to ``sizes`` (e.g. their eligible people)."""
    return dict(zip(sizes, apportion(total, list(sizes.values())), strict=True))


def born_in(rng: random.Random, first_year: int, last_year: int) -> dt.date:
    """A birth date in the given years (inclusive)."""
    start, end = _ordinals(first_year, last_year)
    return dt.date.fromordinal(start + int(rng.random() * (end - start + 1)))


@cache
def _ordinals(first_year: int, last_year: int) -> tuple[int, int]:
    return dt.date(first_year, 1, 1).toordinal(), dt.date(last_year, 12, 31).toordinal()


def _members(rng: random.Random, code: str, taken: set[str], size: int, head: str | None = None) -> tuple[str, ...]:
    """A household's IDs: head, spouse, children (and sometimes a parent of the head)."""
    place = region(code)
    if head is None:
        if size == 1:
            years = (1930, 1961) if rng.random() < 0.75 else (1962, 1995)
        else:
            years = (1940, 1961) if rng.random() < 0.2 else (1962, 1992)
        head = person_id(rng, place, born_in(rng, *years), taken)
    head_year = int(head[6:10])
    members = [head]
    if size >= 2:
        year = min(1998, max(1925, head_year + rng.randint(-5, 5)))
        members.append(person_id(rng, place, born_in(rng, year, year), taken))
    for i in range(2, size):
        if i == size - 1 and size >= 4 and rng.random() < 0.25:
            year = max(1925, head_year - rng.randint(22, 32))
        else:
            year = min(2020, head_year + rng.randint(22, 34))
        members.append(person_id(rng, place, born_in(rng, year, year), taken))
    return tuple(members)


@dataclass(frozen=True)
class MonitoredCell:
    """三类户 of one category, added in 2021 or not, cleared or not: households and persons."""

    category: str
    added: bool
    cleared: bool
    households: int
    persons: int


def monitored_cells(scale: float = 1.0) -> list[MonitoredCell]:
    """The 三类户 by category × added in 2021 × cleared, so that every published margin holds at scale 1.

    Margins: per category households, persons, cleared households and persons (published; the
    突发严重困难户 cleared persons as figures.yml corrects them), and the households and persons added
    since 2021 (published) split by category (chosen here). Each 2 × 2 table is filled in proportion.
    """
    added_hh = dict(ADDED_HOUSEHOLDS)
    added_p = dict(ADDED_PERSONS)
    added_hh["突发严重困难户"] = figures.base("monitored_households_added_2021") - sum(added_hh.values())
    added_p["突发严重困难户"] = figures.base("monitored_persons_added_2021") - sum(added_p.values())
    cells: list[MonitoredCell] = []
    for category in CATEGORIES:
        prefix = CATEGORY_CODES[category]
        for measure, added in (("households", added_hh[category]), ("persons", added_p[category])):
            whole = figures.base(f"{prefix}_{measure}")
            cleared = figures.base(f"{prefix}_cleared_{measure}")
            both = round(added * cleared / whole)
            table = {(True, True): both, (True, False): added - both}
            table[(False, True)] = cleared - both
            table[(False, False)] = whole - added - cleared + both
            if min(table.values()) < 0:
                raise ValueError(f"{category} {measure}: the published margins admit no table {table}")
            if measure == "households":
                households = table
            else:
                persons = table
        for (is_added, is_cleared), count in households.items():
            cells.append(MonitoredCell(category, is_added, is_cleared, count, persons[(is_added, is_cleared)]))
    if scale == 1.0:
        return cells
    result = []
    for cell in cells:
        households_at = scaled(cell.households, scale)
        persons_at = max(households_at, scaled(cell.persons, scale)) if households_at else 0
        result.append(MonitoredCell(cell.category, cell.added, cell.cleared, households_at, persons_at))
    return result


@dataclass(frozen=True)
class _Plan:
    """One 三类户 before it has people: its county, size and monitoring history."""

    county: str
    category: str
    size: int
    identified: dt.date
    cleared: int | None
    risk: str
    income: int


def _monitored_plans(scale: float) -> list[_Plan]:
    """Every 三类户 of the calibrated cells, with a size (the cell's persons exactly), a county (by poor
    households) and a history; one random stream for the city, so the counties need not be built first."""
    rng = random.Random("population-monitored")
    plans: list[_Plan] = []
    for cell in monitored_cells(scale):
        if not cell.households:
            continue
        spread = [rng.choice((0.2, 0.6, 1, 1.4, 2.2)) for _ in range(cell.households)]
        sizes = [1 + extra for extra in apportion(cell.persons - cell.households, spread)]
        places = [code for code, n in split(cell.households, "poverty").items() for _ in range(n)]
        rng.shuffle(places)
        plans.extend(_plan(rng, cell, size, county) for size, county in zip(sizes, places, strict=True))
    return plans


def _plan(rng: random.Random, cell: MonitoredCell, size: int, county: str) -> _Plan:
    """One 三类户's history: identified in 2021 (added) or in 2019–2020; cleared after it was identified;
    突发严重困难户 identified in July and August mostly 因灾 (the floods)."""
    if cell.added:
        month = rng.choices(range(1, 12), weights=ADDED_MONTH_WEIGHTS)[0]
        identified = dt.date(config.YEAR, month, rng.randint(1, 28))
        cleared = rng.randint(month + 1, 12) if cell.cleared else None
    else:
        identified = dt.date(rng.choice((2019, 2020, 2020)), rng.randint(1, 12), rng.randint(1, 28))
        cleared = (0 if rng.random() < 0.3 else rng.randint(1, 12)) if cell.cleared else None
    risks, risk_weights = RISKS[cell.category]
    risk = rng.choices(risks, weights=risk_weights)[0]
    if cell.added and cell.category == "突发严重困难户" and identified.month in (7, 8) and rng.random() < 0.8:
        risk = "因灾"
    income = rng.randrange(6_500, 14_000) if cell.cleared else rng.randrange(3_000, 7_500)
    return _Plan(county, cell.category, size, identified, cleared, risk, income)


def _borrowers(scale: float) -> dict[str, dict[str, list[str]]]:
    """Microcredit borrowers by county code and household type (in account order, each once)."""
    found: dict[str, dict[str, list[str]]] = {}
    for account in microcredit_accounts(scale):
        code = county_code(account.county)
        kinds = found.setdefault(code, {"已脱贫户": [], "监测户": []})
        kinds[account.household_type].append(account.household)
    return {code: {kind: list(dict.fromkeys(ids)) for kind, ids in kinds.items()} for code, kinds in found.items()}


@cache
def microcredit_accounts(scale: float) -> list[microcredit.Account]:
    """The microcredit feed's accounts (computed once per scale)."""
    return microcredit.accounts(scale)


class _Builder:
    """Builds one county's households from its own random stream."""

    def __init__(self, code: str, taken: set[str]) -> None:
        self.code, self.taken = code, taken
        self.rng = random.Random(f"population-{code}")
        self.townships = self.rng.randint(12, 24)
        self.serial = 0

    def household(self, kind: str, size: int, head: str | None = None) -> Household:
        self.serial += 1
        township = self.rng.randrange(1, self.townships + 1)
        return Household(
            self.code,
            f"{self.code}{self.serial:07d}",
            kind,
            f"乡镇{township:02d}",
            f"村{township:02d}{self.rng.randrange(1, 30):02d}",
            _members(self.rng, self.code, self.taken, size, head),
        )

    def households(self, kind: str, count: int, heads: Sequence[str] = ()) -> list[Household]:
        sizes = self.rng.choices(*HOUSEHOLD_SIZES, k=count)
        return [
            self.household(kind, max(size, 2) if i < len(heads) else size, heads[i] if i < len(heads) else None)
            for i, size in enumerate(sizes)
        ]

    def monitored(self, plans: Sequence[_Plan], heads: Sequence[str]) -> list[Monitoring]:
        # borrowers (监测户 with a loan) head the households monitored since before 2021: on the register all year
        order = sorted(range(len(plans)), key=lambda i: plans[i].identified >= dt.date(config.YEAR, 1, 1))
        head_of = dict(zip(order, heads, strict=False))
        return [
            Monitoring(
                self.household("监测户", p.size, head_of.get(i)), p.category, p.identified, p.cleared, p.risk, p.income
            )
            for i, p in enumerate(plans)
        ]


@cache
def build(scale: float = 1.0) -> Population:
    """The population at ``scale`` (cached: every feed of one run draws from the same one)."""
    borrowers = _borrowers(scale)
    taken = {i for kinds in borrowers.values() for ids in kinds.values() for i in ids}
    lifted = {c.code: t.lifted for c, t in zip(counties(), _league_targets(scale), strict=True)}
    general = split(round(GENERAL_HOUSEHOLDS * scale), "mixed")
    plans = _monitored_plans(scale)
    result: dict[str, Residents] = {}
    for county in counties():
        builder = _Builder(county.code, taken)
        mine = borrowers.get(county.code, {"已脱贫户": [], "监测户": []})
        monitored = builder.monitored([p for p in plans if p.county == county.code], mine["监测户"])
        households = [
            *builder.households("脱贫户", lifted[county.code], mine["已脱贫户"]),
            *(m.household for m in monitored),
            *builder.households("一般农户", general[county.code]),
        ]
        result[county.code] = Residents(county.code, households, monitored)
    return Population(scale, result, frozenset(taken))


def _league_targets(scale: float) -> list[microcredit.CountyTarget]:
    """The league table's county rows in table order (the order ``counties()`` uses)."""
    by_name = {t.name: t for t in microcredit.targets(scale)}
    return [by_name[c.name] for c in counties()]


# ---- rosters ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spell:
    """A person's time on a monthly roster: paid every month from ``first`` to ``last``."""

    person: str
    household: Household
    first: int
    last: int

    @property
    def months(self) -> int:
        return self.last - self.first + 1


Unit = tuple[Sequence[str], Household]  # who joins and leaves a roster together, and their household


def roster(rng: random.Random, units: Iterable[Unit], december: int, entries: float, exits: float) -> list[Spell]:
    """Spells of ``units`` (in the order given) with exactly ``december`` persons on December's roster.

    A share ``entries`` of December's units joined during the year; other units (about ``exits`` ×
    ``december`` persons) left before December. A unit larger than what is still needed contributes
    part of its members (单人保 in a 低保 household).
    """
    spells: list[Spell] = []
    leaving = round(december * exits)
    pending = iter(units)
    for wanted, staying in ((december, True), (leaving, False)):
        need = wanted
        while need > 0:
            try:
                members, household = next(pending)
            except StopIteration:
                raise ValueError(f"roster needs {need} more persons than the population offers") from None
            joined = rng.randint(2, 12) if rng.random() < entries else 1
            first = joined if staying else min(joined, 11)
            last = 12 if staying else rng.randint(first, 11)
            taken = list(members[:need])
            spells.extend(Spell(member, household, first, last) for member in taken)
            need -= len(taken)
    return spells


def allocate(total: int, spells: Sequence[Spell], weights: Sequence[float]) -> list[tuple[int, int]]:
    """Each spell's monthly amount and the extra paid with its last month (年末补差), so that all
    payments of all spells add up to ``total`` exactly; amounts follow ``weights`` × months."""
    yearly = apportion(total, [w * s.months for s, w in zip(spells, weights, strict=True)])
    return [divmod(amount, spell.months) for amount, spell in zip(yearly, spells, strict=True)]


def draw(rng: random.Random, pools: Sequence[Sequence[Unit]], exclude: Iterable[str] = ()) -> list[Unit]:
    """The units of the pools in turn, each pool shuffled; members in ``exclude`` are dropped, and a
    unit whose first member was already drawn (from an earlier pool) is skipped."""
    left_out = set(exclude)
    seen: set[str] = set()
    result: list[Unit] = []
    for pool in pools:
        order = list(range(len(pool)))
        rng.shuffle(order)
        for i in order:
            members, household = pool[i]
            kept = [m for m in members if m not in left_out] if left_out else list(members)
            if not kept or kept[0] in seen:
                continue
            seen.add(kept[0])
            result.append((kept, household))
    return result


def age(person: str) -> int:
    """Age at the end of 2021."""
    return config.YEAR - int(person[6:10])
