"""`dbt docs generate` on the real warehouse, and what the docs must hold for every model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from include import config

pytestmark = pytest.mark.integration
TARGET = config.DBT_PROJECT_DIR / "target"


@pytest.fixture(scope="module")
def docs(warehouse) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "include.cli", "docs"], capture_output=True, text=True, check=False, timeout=600
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return {
        "manifest": json.loads(config.DBT_MANIFEST.read_text(encoding="utf-8")),
        "catalog": json.loads((TARGET / "catalog.json").read_text(encoding="utf-8")),
    }


def models(manifest: dict) -> dict[str, dict]:
    return {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def test_docs_site_is_written(docs):
    assert (TARGET / "index.html").stat().st_size > 100_000
    assert docs["catalog"]["nodes"], "the catalog read no relation from the warehouse"


def test_every_model_documents_its_grain_and_every_mart_its_columns(docs):
    found = models(docs["manifest"])
    undocumented = [name for name, node in found.items() if len(node["description"].strip()) < 20]
    assert not undocumented, undocumented
    for name, node in found.items():
        if name.startswith("mart_"):
            blank = [c for c, col in node["columns"].items() if not col["description"].strip()]
            assert "grain" in node["description"].lower() or "一行" in node["description"], name
            assert len(node["columns"]) >= 5 and not blank, (name, blank)


def test_every_mart_feeds_an_exposure(docs):
    exposed = {
        parent.split(".")[-1] for e in docs["manifest"]["exposures"].values() for parent in e["depends_on"]["nodes"]
    }
    marts = {name for name in models(docs["manifest"]) if name.startswith("mart_")}
    assert marts <= exposed, marts - exposed
