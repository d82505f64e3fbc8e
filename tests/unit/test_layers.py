"""The warehouse layer is the ground floor: it imports nothing of the floors above it (ingestion, the gate).
Bootstrapping composes the layers from above (``include.bootstrap``).

The sample generator (``samples/``) is demo data, not production code: of the project it reads the
config and the contracts, never the ingest parser, the gate or the warehouse."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WAREHOUSE = Path(__file__).resolve().parents[2] / "include" / "warehouse"
ABOVE = ("include.gate", "include.ingest")
SAMPLES = WAREHOUSE.parents[1] / "samples"
SAMPLES_MAY_READ = ("include.config", "include.ingest.contract.")


def imported(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, at the top or inside a function, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


@pytest.mark.parametrize("path", sorted(WAREHOUSE.glob("*.py")), ids=lambda path: path.name)
def test_the_warehouse_layer_imports_nothing_above_it(path):
    above = [f"{path.name}:{line}: {name}" for line, name in imported(path) if name.startswith(ABOVE)]
    assert not above, above


def test_the_check_sees_the_imports_it_forbids(tmp_path):
    layered = tmp_path / "layered.py"
    layered.write_text("import include.gate.gate\n\ndef f():\n    from include.ingest import ddl\n")
    forbidden = [name for _, name in imported(layered) if name.startswith(ABOVE)]
    assert forbidden == ["include.gate.gate", "include.ingest.ddl"]


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.py")), ids=lambda path: path.name)
def test_the_samples_read_only_the_config_and_the_contracts(path):
    production = [
        f"{path.name}:{line}: {name}"
        for line, name in imported(path)
        if name.startswith("include") and not name.startswith(SAMPLES_MAY_READ)
    ]
    assert not production, production
