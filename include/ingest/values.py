"""Cell values as departments write them, turned into canonical text.

Each parser returns the canonical text or raises ``ValueError`` with what was
expected; the caller turns that into a finding with the file, sheet, row and
column. Canonical forms: numbers as plain decimals, dates as ISO dates, months
as the first day of the month, rates as percent numbers ("24.41").
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from include import config

ZERO_MARKS = {"", "—", "-", "－", "–", "——", "/", "无"}
BASE_UNIT = {"amount": "元", "quantity": "千瓦时"}
# Units a cell or header may carry, by kind, with the factor to the base unit: the var unit_factors of
# dbt_project.yml, which dbt's `to_base_unit` macro applies in staging.
UNITS = {
    kind: {unit: Decimal(factor) for unit, factor in config.DBT_VARS["unit_factors"][base].items()}
    for kind, base in BASE_UNIT.items()
}
_ALIASES = {"度": "千瓦时"}  # a unit cells are written in, carried as the unit it names
_WRITTEN = [*(unit for units in UNITS.values() for unit in units), *_ALIASES]
_UNIT_SUFFIX = re.compile(f"^(?P<number>.*?)(?P<unit>{'|'.join(map(re.escape, _WRITTEN))})$")
_UNIT_ENDINGS = (*BASE_UNIT.values(), *_ALIASES)  # every unit _UNIT_SUFFIX knows ends so: a cheap test first
_MONTH = re.compile(r"^(?P<year>\d{4})\s*(?:年|-|/|\.)?\s*(?P<month>\d{1,2})\s*月?(?:份)?$")
_DATE = re.compile(r"^(?P<year>\d{4})\s*(?:年|-|/|\.)\s*(?P<month>\d{1,2})\s*(?:月|-|/|\.)\s*(?P<day>\d{1,2})\s*日?$")


def cell_text(value: object) -> str:
    """A cell as text: integral floats without '.0', dates as ISO, full-width folded."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


MAX_EXPONENT = 100  # no department's number is 10^100 or 10^-100: beyond, a cell is not a number
_MAX_PLAIN_DIGITS = 28  # Decimal's default precision: beyond it normalize() rounds


def fast_plain(text: str) -> str | None:
    """``_plain(_decimal(text))`` for the common shape ``-1,234.50``, without building a Decimal; else None.

    Only ASCII digits with at most one point and a leading minus are taken; anything
    else (exponents, signs, Unicode digits, units, dashes) is left to the Decimal path.
    """
    cleaned = text.replace(",", "").replace(" ", "")
    negative = cleaned.startswith("-")
    whole, _, fraction = (cleaned[1:] if negative else cleaned).partition(".")
    if not (whole.isdigit() and whole.isascii()) or (fraction and not (fraction.isdigit() and fraction.isascii())):
        return None
    if len(whole) + len(fraction) > _MAX_PLAIN_DIGITS:
        return None
    whole, fraction = whole.lstrip("0") or "0", fraction.rstrip("0")
    number = f"{whole}.{fraction}" if fraction else whole
    return "-" + number if negative and number != "0" else number


def _decimal(text: str, expected: str) -> Decimal:
    cleaned = text.replace(",", "").replace(" ", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(expected) from None
    if not number.is_finite() or abs(number.adjusted()) > MAX_EXPONENT:  # 10^1000000 overflows on rounding
        raise ValueError(expected)
    return number


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def parse_number(text: str) -> str:
    """A plain number: thousands separators allowed, a dash or blank means zero."""
    if text in ZERO_MARKS:
        return "0"
    return fast_plain(text) or _plain(_decimal(text, "a number"))


def parse_count(text: str) -> str:
    """A whole, non-negative count."""
    if text in ZERO_MARKS:
        return "0"
    fast = fast_plain(text)
    if fast is not None and "." not in fast and not fast.startswith("-"):
        return fast
    number = _decimal(text, "a whole number")
    if number != number.to_integral_value() or number < 0:
        raise ValueError("a whole, non-negative number")
    return _plain(number)


def parse_amount(text: str, unit: str | None, kind: str = "amount") -> tuple[str, str]:
    """A measured value and its unit; a unit written in the cell ("3.5万元") wins over the header's.

    ``kind`` is ``amount`` (元 / 万元 / 亿元) or ``quantity`` (千瓦时 / 万千瓦时 / 亿千瓦时, 度 = 千瓦时).
    """
    allowed = UNITS[kind]
    expected = "a number in " + ", ".join(allowed)
    unit = unit or BASE_UNIT[kind]
    if text in ZERO_MARKS:
        return "0", unit
    suffix = _UNIT_SUFFIX.match(text.replace(" ", "")) if text.endswith(_UNIT_ENDINGS) else None
    if suffix:
        text, unit = suffix["number"], _ALIASES.get(suffix["unit"], suffix["unit"])
    if unit not in allowed:
        raise ValueError(expected)
    return fast_plain(text) or _plain(_decimal(text, expected)), unit


def parse_rate(text: str) -> str:
    """A rate as a percent number: '24.41%' -> '24.41'; a bare fraction 0.2441 -> '24.41'."""
    if text in ZERO_MARKS:
        return "0"
    if text.endswith("%"):
        return _plain(_decimal(text[:-1], "a percentage such as 24.41%"))
    number = _decimal(text, "a percentage such as 24.41%")
    return _plain(number * 100 if abs(number) <= 1 else number)


def parse_rank(text: str) -> str:
    """A rank: a positive whole number; blank for the city row."""
    if text == "":
        return ""
    number = _decimal(text, "a rank (1, 2, ...)")
    if number != number.to_integral_value() or number < 1:
        raise ValueError("a rank (1, 2, ...)")
    return _plain(number)


def parse_date(text: str) -> str:
    if found := _DATE.match(text):
        try:
            return dt.date(int(found["year"]), int(found["month"]), int(found["day"])).isoformat()
        except ValueError:
            pass
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise ValueError("a date such as 2021-12-31") from None


def parse_month(text: str) -> str:
    """A month as its first day: '2021-12', '2021年12月', '202112' or a date."""
    compact = text.replace(" ", "")
    if re.fullmatch(r"\d{6}", compact):
        compact = f"{compact[:4]}-{compact[4:]}"
    if found := _MONTH.match(compact):
        month = int(found["month"])
        if 1 <= month <= 12:
            return dt.date(int(found["year"]), month, 1).isoformat()
    try:
        return parse_date(compact)[:8] + "01"
    except ValueError:
        raise ValueError("a month such as 2021-12 or 2021年12月") from None


def parse_enum(text: str, allowed: tuple[str, ...]) -> str:
    if text not in allowed:
        raise ValueError("one of " + " / ".join(allowed))
    return text
