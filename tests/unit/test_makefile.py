"""The Makefile's manifest target is config.DBT_MANIFEST: make needs the path before the venv (and so
include.config) exists, so it spells it out, and this test fails on any drift."""

from __future__ import annotations

import re

from include import config


def test_the_makefile_builds_config_dbt_manifest():
    makefile = (config.PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^MANIFEST := (\S+)$", makefile, re.M)
    assert target, "the Makefile names no MANIFEST"
    assert config.PROJECT_ROOT / target[1] == config.DBT_MANIFEST
