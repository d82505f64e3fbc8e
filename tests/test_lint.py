"""ruff (with Airflow's AIR rules), mypy on include/ and plugins/, sqlfluff over the dbt models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )


def test_ruff_check():
    result = run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout


def test_ruff_format():
    result = run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout


def test_mypy():
    result = run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout


def test_sqlfluff_over_the_dbt_models(warehouse):
    """The dbt templater compiles the models, and dbt checks relations while compiling: it needs the warehouse."""
    from include.dbt_env import dbt_env

    result = run(str(BIN / "sqlfluff"), "lint", "dbt_project/models", "--nocolor", env=dbt_env(warehouse))
    assert result.returncode == 0, result.stdout[-4000:]
