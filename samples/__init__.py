"""Deterministic sample feeds, calibrated on the city's published 2021 figures.

Demo data, not production code: the pipeline never imports it, and of the production code it reads
only the feed contracts (``include.ingest.contract``). ``generate`` is the one entry point (``make
run``, the tests' fixtures and the bench call it). Every department feed of DESIGN §3 has a generator
here (``GENERATORS``: feed -> module with ``file_name(month)`` and ``generate(landing, months, scale)``).
They draw their people from one population (``population``), write what the department's template
looks like (``delivery``), and add up to the published figures as ``figures.yml`` defines them. The
indicator report comes last: it declares the figures the other feeds carry.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from samples import indicator_report, microcredit

# Every feed in the order it is written: the indicator report last, as it declares what the others carry
# (computed while they are written).
GENERATORS: dict[str, ModuleType] = {
    module.FEED: module for module in (microcredit, *indicator_report.DECLARED, indicator_report)
}


def reset() -> None:
    """Forget every cached population, roster and remembered figure (the next generation starts afresh)."""
    from samples import delivery, population  # noqa: PLC0415

    for module in (population, *GENERATORS.values()):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "") == module.__name__:
                value.cache_clear()
    delivery.forget()


def generate(
    landing: Path,
    months: Iterable[int] = range(1, 13),
    scale: float = 1.0,
    *,
    feeds: Iterable[str] | None = None,
    rewrite: bool = False,
) -> list[Path]:
    """Write the sample feeds' ``months`` into ``landing/<feed>``; returns the paths written.

    Only the months not in ``landing`` yet (each feed from its first missing month to its last), unless
    ``rewrite``; ``feeds``: just these (by default every feed, the indicator report last).
    """
    wanted = set(GENERATORS if feeds is None else feeds)
    written: list[Path] = []
    for feed, module in GENERATORS.items():
        todo = [m for m in months if rewrite or not (landing / feed / module.file_name(m)).exists()]
        if feed in wanted and todo:
            written.extend(module.generate(landing, months=range(min(todo), max(todo) + 1), scale=scale))
    return written


__all__ = ["GENERATORS", "generate", "reset"]
