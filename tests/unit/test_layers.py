"""The warehouse layer is the ground floor: it imports nothing of the floors above it (ingestion, the gate).

Bootstrapping composes the layers from above (``include.bootstrap``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WAREHOUSE = Path(__file__).resolve().parents[2] / "include" / "warehouse"
ABOVE = ("include.gate", "include.ingest")


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
