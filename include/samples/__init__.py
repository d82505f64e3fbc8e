"""Deterministic sample feeds, calibrated on the city's published 2021 figures.

Every department feed of DESIGN §3 has a generator here (``GENERATORS``: feed -> module with
``file_name(month)`` and ``generate(landing, months, scale)``). They draw their people from one
population (``population``), write what the department's template looks like (``delivery``), and
add up to the published figures as ``figures.yml`` defines them. The indicator report comes last:
it declares the figures the other feeds carry.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from include import config
from include.samples import (
    disability_subsidies,
    early_warning,
    education_aid,
    employment,
    housing_renovation,
    indicator_report,
    linkage_projects,
    microcredit,
    monitored_households,
    poverty_assets,
    pv_stations,
    social_assistance,
    student_loans,
    water_projects,
)

GENERATORS: dict[str, ModuleType] = {
    module.FEED: module
    for module in (
        microcredit,
        social_assistance,
        disability_subsidies,
        employment,
        education_aid,
        student_loans,
        housing_renovation,
        linkage_projects,
        water_projects,
        poverty_assets,
        pv_stations,
        monitored_households,
        early_warning,
        indicator_report,  # last: it declares what the others carry (computed while they are written)
    )
}


def reset() -> None:
    """Forget every cached population, roster and remembered figure (the next generation starts afresh)."""
    from include.samples import delivery, population  # noqa: PLC0415

    for module in (population, *GENERATORS.values()):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "") == module.__name__:
                value.cache_clear()
    delivery.forget()


def generate_missing(landing: Path, scale: float = 1.0) -> int:
    """Write every month of every sample feed that is not in ``landing`` yet; returns the count."""
    written = 0
    for feed, module in GENERATORS.items():
        missing = [m for m in range(1, 13) if not (landing / feed / module.file_name(m)).exists()]
        if missing:
            written += len(module.generate(landing, months=range(min(missing), max(missing) + 1), scale=scale))
    return written


__all__ = ["GENERATORS", "config", "generate_missing", "reset"]
