"""Deterministic sample feeds, calibrated on the city's published 2021 figures."""

from __future__ import annotations

from pathlib import Path

from include import config
from include.samples import microcredit

GENERATORS = {microcredit.FEED: microcredit}


def generate_missing(landing: Path, scale: float = 1.0) -> int:
    """Write every month of every sample feed that is not in ``landing`` yet; returns the count."""
    written = 0
    for feed, module in GENERATORS.items():
        missing = [m for m in range(1, 13) if not (landing / feed / module.file_name(m)).exists()]
        if missing:
            written += len(module.generate(landing, months=range(min(missing), max(missing) + 1), scale=scale))
    return written


__all__ = ["GENERATORS", "config", "generate_missing"]
