"""Feed contracts: the YAML files in ``include/contracts`` read into typed objects.

A contract says which department sends the feed, how its files are named, which
sheets they hold, and for every canonical column the Chinese headers that
departments print for it (with the unit the values are in). Raw tables are
derived from the contract, so adding a department means adding a contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import yaml

from include import config

COLUMN_TYPES = {
    "text",
    "county",
    "resident_id",
    "enum",
    "date",
    "month",
    "count",
    "amount",
    "quantity",
    "rate",
    "rank",
    "number",
}
NUMERIC_TYPES = {"count", "amount", "quantity", "rate", "rank", "number"}
MEASURED_TYPES = {"amount", "quantity"}  # values with a unit: raw keeps the unit beside the value
LINEAGE_COLUMNS = ("_load_id", "_feed_month", "_version", "_sheet", "_row_number")
# How staging casts a raw text column of a type, and the suffix its staged name takes.
STAGING_CASTS = {"count": "integer", "rank": "integer", "rate": "numeric", "number": "numeric", "date": "date"}
STAGING_SUFFIXES = {"rate": "_pct"}
RESIDENT_ID_PARTS = ("key", "birth_year", "sex", "region")


@dataclass(frozen=True)
class Staged:
    """A column of a staging model: the raw column it reads, its name in staging, and the cast or the unit
    column (converted to the base unit by the ``to_base_unit`` macro) that types it."""

    raw: str
    name: str
    cast: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool
    aliases: dict[str, str | None]  # header as printed -> unit of its values (None: no unit)
    values: tuple[str, ...] = ()
    # How staging names it, when not by the type's default (``staged``): a name, false (staging SQL of its
    # own reads it, or nothing does), a mapping {as, cast}, or for a resident ID one name or false per part.
    staging: str | bool | dict[str, str | bool] | None = None

    def raw_columns(self) -> list[str]:
        """The raw-table columns this canonical column becomes."""
        if self.type == "county":
            return [f"{self.name}_code", f"{self.name}_as_written"]
        if self.type == "resident_id":
            return [f"{self.name}_key", f"{self.name}_birth_year", f"{self.name}_sex", f"{self.name}_region"]
        if self.type in MEASURED_TYPES:
            return [self.name, f"{self.name}__unit"]
        return [self.name]

    def _default_staged(self) -> list[Staged]:
        name = self.name
        if self.type == "county":
            return [Staged(f"{name}_code", f"{name}_code")]
        if self.type == "month":  # the file's month is staged as month_start, from the lineage
            return []
        if self.type == "resident_id":
            stem = name.removesuffix("_id")
            return [
                Staged(f"{name}_{part}", f"{stem}_{part}", cast="integer" if part == "birth_year" else None)
                for part in RESIDENT_ID_PARTS
            ]
        if self.type in MEASURED_TYPES:
            return [Staged(name, f"{name}_yuan" if self.type == "amount" else name, unit=f"{name}__unit")]
        return [Staged(name, name + STAGING_SUFFIXES.get(self.type, ""), cast=STAGING_CASTS.get(self.type))]

    def staged(self) -> list[Staged]:
        """The staging columns this canonical column becomes (the generated renames)."""
        spec, defaults = self.staging, self._default_staged()
        if spec is None:
            return defaults
        if spec is False:
            return []
        if isinstance(spec, str):
            spec = {"as": spec}
        if not isinstance(spec, dict):
            raise ValueError(f"column {self.name}: staging is a name, false or a mapping, found {spec!r}")
        if self.type == "resident_id":
            return [
                replace(column, name=str(named))
                for part, column in zip(RESIDENT_ID_PARTS, defaults, strict=True)
                if (named := spec.get(part, column.name)) is not False
            ]
        (column,) = defaults
        return [replace(column, name=str(spec.get("as", column.name)), cast=spec.get("cast", column.cast))]  # type: ignore[arg-type]


@dataclass(frozen=True)
class Section:
    """One sheet of a feed (detail or control totals) and the raw table it loads into."""

    role: str  # 'detail' or 'control_totals'
    sheet: str
    table: str
    columns: tuple[Column, ...]

    def raw_columns(self) -> list[str]:
        return [name for column in self.columns for name in column.raw_columns()] + list(LINEAGE_COLUMNS)

    def staged(self) -> list[Staged]:
        return [staged for column in self.columns for staged in column.staged()]


@dataclass(frozen=True)
class Contract:
    feed: str
    name_zh: str
    department: str
    department_zh: str
    grain: str
    deadline_day: int
    file_pattern: re.Pattern[str]
    month_column: str | None
    sections: tuple[Section, ...] = field(default=())

    def section(self, role: str) -> Section:
        return next(section for section in self.sections if section.role == role)

    def match(self, file_name: str) -> tuple[int, int] | None:
        """(year, month) named by a file name, or None if the name is not this feed's."""
        found = self.file_pattern.match(file_name)
        if not found:
            return None
        return int(found["year"]), int(found["month"])


# The keys a contract may use, at each level; any other key is a typo (``requried:``) and is refused.
CONTRACT_KEYS = {
    "required": {"feed", "name_zh", "department", "department_zh", "grain", "deadline_day", "file_pattern", "detail"},
    "optional": {"month_column", "control_totals"},
}
SECTION_KEYS = {"required": {"sheet", "table", "columns"}, "optional": set()}
COLUMN_KEYS = {"required": {"type", "aliases"}, "optional": {"required", "values", "staging"}}
STAGING_KEYS = {"as", "cast"}


def _check_keys(where: str, spec: object, keys: dict[str, set[str]]) -> None:
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected a mapping, found {type(spec).__name__}")
    unknown = sorted(set(spec) - keys["required"] - keys["optional"])
    missing = sorted(keys["required"] - set(spec))
    if unknown or missing:
        allowed = ", ".join(sorted(keys["required"] | keys["optional"]))
        raise ValueError(
            f"{where}: "
            + "; ".join(
                ([f"unknown key(s) {', '.join(unknown)} (allowed: {allowed})"] if unknown else [])
                + ([f"missing key(s) {', '.join(missing)}"] if missing else [])
            )
        )


def _column(name: str, spec: dict) -> Column:  # type: ignore[type-arg]
    if spec["type"] not in COLUMN_TYPES:
        raise ValueError(f"column {name}: unknown type {spec['type']!r}")
    aliases = spec["aliases"]
    mapping = dict(aliases) if isinstance(aliases, dict) else {alias: None for alias in aliases}
    return Column(
        name=name,
        type=spec["type"],
        required=bool(spec.get("required", False)),
        aliases=mapping,
        values=tuple(spec.get("values", ())),
        staging=_staging(name, spec["type"], spec.get("staging")),
    )


def _staging(name: str, kind: str, spec: object) -> str | bool | dict[str, str | bool] | None:
    """A column's ``staging`` key checked: a typo in it would silently stage the default."""
    if spec is None or spec is False or isinstance(spec, str):
        return spec
    allowed = set(RESIDENT_ID_PARTS) if kind == "resident_id" else STAGING_KEYS
    if not isinstance(spec, dict) or set(spec) - allowed:
        raise ValueError(f"column {name}: staging takes a name, false or a mapping of {', '.join(sorted(allowed))}")
    return spec


def parse(path: Path) -> Contract:
    """A contract file read and checked: an unknown or missing key is an error naming the file and the key."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    _check_keys(path.name, spec, CONTRACT_KEYS)
    for role in ("detail", "control_totals"):
        if role in spec:
            _check_keys(f"{path.name}: {role}", spec[role], SECTION_KEYS)
            for name, column in spec[role]["columns"].items():
                _check_keys(f"{path.name}: {role}.columns.{name}", column, COLUMN_KEYS)
    sections = tuple(
        Section(
            role=role,
            sheet=spec[role]["sheet"],
            table=spec[role]["table"],
            columns=tuple(_column(name, col) for name, col in spec[role]["columns"].items()),
        )
        for role in ("detail", "control_totals")
        if role in spec
    )
    return Contract(
        feed=spec["feed"],
        name_zh=spec["name_zh"],
        department=spec["department"],
        department_zh=spec["department_zh"],
        grain=spec["grain"],
        deadline_day=int(spec["deadline_day"]),
        file_pattern=re.compile(spec["file_pattern"]),
        month_column=spec.get("month_column"),
        sections=sections,
    )


@cache
def contracts() -> dict[str, Contract]:
    """Every contract in the contracts folder, by feed name."""
    found = [parse(path) for path in sorted(config.CONTRACTS_DIR.glob("*.yml"))]
    return {contract.feed: contract for contract in found}
