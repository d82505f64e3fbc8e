"""Resident ID numbers (GB 11643): validation and keyed pseudonymisation.

A clear-text ID never leaves this module: callers get a finding or an HMAC.
An 18-digit ID has too little entropy for a plain hash, so the key matters.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
REGION_PREFIX = "4114"


def check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


@dataclass(frozen=True)
class Pseudonym:
    """What may be kept of an ID: its keyed hash and coarse derived fields."""

    key: str
    birth_year: int
    sex: str  # 'M' or 'F'
    region: str  # the six-digit registration region


def validate(raw: str, *, region_prefix: str = REGION_PREFIX) -> str | None:
    """Return None for a valid ID, otherwise what is wrong with it (never the ID itself)."""
    value = raw.strip().upper()
    if len(value) != 18:
        return f"18 characters expected, found {len(value)}"
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return "17 digits and a digit or X expected"
    if check_digit(value[:17]) != value[17]:
        return "GB 11643 check digit does not match"
    if not value.startswith(region_prefix):
        return f"region prefix {region_prefix}xx expected, found {value[:6]}"
    month, day = int(value[10:12]), int(value[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return "birth date in positions 7-14 is not a date"
    return None


def pseudonymise(raw: str, key: bytes) -> Pseudonym:
    """HMAC-SHA256 of the normalised ID, plus birth year, sex and region."""
    value = raw.strip().upper()
    digest = hmac.new(key, value.encode("ascii"), hashlib.sha256).hexdigest()
    return Pseudonym(
        key=digest,
        birth_year=int(value[6:10]),
        sex="M" if int(value[16]) % 2 else "F",
        region=value[:6],
    )
