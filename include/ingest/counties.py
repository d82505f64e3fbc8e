"""Resolve the many ways departments write a county name to one county code."""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import cache

from include import config

_SPACES = re.compile(r"\s+")


def normalise(name: str) -> str:
    """NFKC (full-width to half-width), no spaces of any width."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", name)).strip()


@cache
def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    with open(config.REFERENCE_DIR / "ref_counties.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = row["county_code"]
            names = [row["county_name"], *filter(None, row["aliases"].split("|"))]
            for name in names:
                table[normalise(name)] = code
    return table


def county_names() -> dict[str, str]:
    """Code to official name."""
    with open(config.REFERENCE_DIR / "ref_counties.csv", encoding="utf-8") as handle:
        return {row["county_code"]: row["county_name"] for row in csv.DictReader(handle)}


def resolve(name: str) -> str | None:
    """The county code for ``name``, or None when it names no county of 商丘.

    Accepts the official name, a listed alias, and either prefixed with 商丘市
    (``商丘市睢县``), in any width and with any spacing (``睢 县``).
    """
    table = _lookup()
    key = normalise(name)
    if key in table:
        return table[key]
    for prefix in ("河南省商丘市", "商丘市", "河南省"):
        if key.startswith(prefix) and key[len(prefix) :] in table:
            return table[key[len(prefix) :]]
    return None
