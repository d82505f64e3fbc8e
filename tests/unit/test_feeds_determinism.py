"""Sample feeds are deterministic (the same bytes again, in another process too) and scale with the factor."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import samples
from include import config
from samples import GENERATORS, microcredit, population

SCALE = 0.01
MONTHS = (1, 7, 12)
SCRIPT = """
import hashlib, sys
from pathlib import Path
from samples import GENERATORS
landing = Path(sys.argv[1])
for module in GENERATORS.values():
    for path in module.generate(landing, months=(1, 7, 12), scale=0.01):
        print(path.relative_to(landing), hashlib.sha256(path.read_bytes()).hexdigest(), int(path.stat().st_mtime))
"""


def _digests(landing: Path) -> dict[str, tuple[str, int]]:
    found = {}
    for module in GENERATORS.values():
        for path in module.generate(landing, months=MONTHS, scale=SCALE):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(landing))] = (digest, int(path.stat().st_mtime))
    return found


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, int]]:
    samples.reset()
    return _digests(tmp_path_factory.mktemp("first"))


def test_every_feed_writes_every_month(first):
    assert {name.split("/")[0] for name in first} == set(GENERATORS)


def test_same_bytes_and_arrival_times_when_generated_afresh(first, tmp_path):
    samples.reset()  # populations, rosters and remembered figures are rebuilt from nothing
    assert _digests(tmp_path) == first


def test_same_bytes_in_another_process_with_another_hash_seed(first, tmp_path):
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(config.PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, env=env, check=True
    )
    other = {
        name: (digest, int(mtime)) for name, digest, mtime in (line.split() for line in result.stdout.splitlines())
    }
    assert other == first


def test_microcredit_output_is_unchanged(tmp_path):
    """The microcredit sample is byte-identical to what it was before the other feeds shared its helpers."""
    path = microcredit.generate(tmp_path, months=range(3, 4), scale=0.02)[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == (
        "76ddede3287bddd59eb194e63a78193c732283fd6904bef828635df29b2373c3"
    )


def _rows(feed: str, scale: float, month: int = 12) -> int:
    if feed == "microcredit":
        return sum(1 for _ in microcredit.snapshot(population.microcredit_accounts(scale), month))
    return sum(1 for _ in GENERATORS[feed].SOURCE.records(month, scale))


@pytest.mark.parametrize("feed", sorted(GENERATORS))
def test_the_scale_factor_scales_row_counts(feed):
    small, large = _rows(feed, 0.02), _rows(feed, 0.08)
    assert large >= small > 0
    if small >= 30 and feed != "indicator_report":  # one row per county × indicator at any scale
        assert 3.2 <= large / small <= 4.8, (feed, small, large)


def test_row_counts_at_scale_1_are_city_sized():
    """A few hundred thousand 低保 payments a month at scale 1 (27.01万 persons on December's roster)."""
    assert 270_100 < _rows("social_assistance", 1.0) < 330_000
