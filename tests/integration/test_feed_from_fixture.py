"""A department the project does not have, added from a fixture folder, runs from landing through staging and
the gate, with no other file edited.

``tests/fixtures/feed_drinking_water`` holds what a data engineer writes for a new department: its contract,
its rules file and a month of deliveries (a CSV pair). The test copies the project's tracked files, adds the
contract and the rules file to the copy, and runs this file there as a script: the manifest build writes the
feed's dbt sources and staging models from its contract, ingestion loads the CSV pair into raw, dbt builds
the staging views, and the feed's rules run through Great Expectations, on the test warehouse. Only files the
generator writes may differ from the project afterwards. The fixture's 汇总 declares one figure its 明细 does
not bear out (虞城县 合格样品数 2, against one sample that passed): the gate must report exactly that figure
and the city total that carries it, and pass everything else. Everything the run created is dropped after.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

FEED = "drinking_water"
MONTH = dt.date(2021, 12, 1)
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "feed_drinking_water"
GATE_SCHEMA = "fx_gate"
GENERATED = {  # what the manifest build writes from the contract: nothing else may change
    f"dbt_project/models/staging/{FEED}/_{FEED}__sources.yml",
    f"dbt_project/models/staging/{FEED}/stg_{FEED}__samples.sql",
    f"dbt_project/models/staging/{FEED}/stg_{FEED}__control_totals.sql",
    "dbt_project/macros/contract_staging.sql",
}
ADDED = {f"include/contracts/{FEED}.yml", f"expectations/rules/{FEED}.yml"}


def drive(landing: Path, gx_root: Path) -> dict[str, Any]:
    """In the project copy: landing → raw → staging → the gate, for the fixture's month."""
    import psycopg

    from include import config
    from include.dbt_env import DBT, build_manifest, dbt_env
    from include.gate import gx_context
    from include.gate.gate import prepare_views
    from include.gate.rule_schema import Schemas, parse
    from include.ingest.contract import contracts
    from include.ingest.ddl import ensure_contract_tables
    from include.ingest.load import ingest_month
    from include.warehouse.connection import server

    found = server(start=False)
    build_manifest()
    contract = contracts()[FEED]
    with psycopg.connect(found.url("loader")) as conn:
        ensure_contract_tables(conn, contract)
        loaded, refused = ingest_month(conn, contract, MONTH, landing=landing, run_id="feed-from-fixture")
    dbt = subprocess.run(
        [DBT, "run", "--select", f"path:models/staging/{FEED}", "--vars", json.dumps({"month": MONTH.isoformat()})],
        cwd=config.DBT_PROJECT_DIR,
        env={**os.environ, **dbt_env(found)},
        capture_output=True,
        text=True,
        check=False,
    )
    if dbt.returncode:
        raise SystemExit(dbt.stdout[-3000:])
    rules = parse(config.PROJECT_ROOT / "expectations" / "rules" / f"{FEED}.yml")
    schemas = Schemas(gate=GATE_SCHEMA)
    with psycopg.connect(found.url("admin"), autocommit=True) as conn:
        conn.execute(f"create schema if not exists {GATE_SCHEMA}")
        prepare_views(conn, rules, schemas)
        staged = conn.execute(
            f"select county_code, sample_no, result, fee_yuan::text from staging.stg_{FEED}__samples order by sample_no"
        ).fetchall()
        declared = conn.execute(
            f"select county_code, samples, passed, fee_yuan::text from staging.stg_{FEED}__control_totals"
        ).fetchall()
    url = found.url("admin", driver="postgresql+psycopg2")
    gx_context.compile_context(url, gx_root, rules, schemas)
    outcomes = gx_context.run_checkpoint(url, MONTH, gx_root)
    return {
        "loaded": [{"status": r.status, "rows": r.rows, "findings": [f.rule for f in r.findings]} for r in loaded],
        "refused": [f.rule for f in refused],
        "staged": staged,
        "declared": declared,
        "outcomes": {o.rule_id: {"success": o.success, "error": o.error, "rows": o.unexpected_rows} for o in outcomes},
    }


def _digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and not {".git", "target", "logs", "__pycache__"} & set(path.relative_to(root).parts)
    }


def _cleanup(warehouse: Any) -> None:
    import psycopg

    with psycopg.connect(warehouse.url("admin"), autocommit=True) as conn:
        conn.execute(f"drop schema if exists {GATE_SCHEMA} cascade")
        for relation in ("samples", "control_totals"):
            conn.execute(f"drop view if exists staging.stg_{FEED}__{relation}")
        for table in ("drinking_water_samples", "drinking_water_control_totals"):
            conn.execute(f"drop table if exists raw.{table} cascade")
        conn.execute("delete from ops.landing_findings where feed = %s", [FEED])
        conn.execute(
            "delete from ops.load_counties where load_id in (select load_id from ops.loads where feed = %s)", [FEED]
        )
        conn.execute("delete from ops.loads where feed = %s", [FEED])


@pytest.fixture(scope="module")
def fixture_run(warehouse: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from include import config

    copy = tmp_path_factory.mktemp("project")
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=config.PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, tracked.split("\0")):
        if (config.PROJECT_ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(config.PROJECT_ROOT / name, copy / name)
    before = _digests(copy)
    shutil.copy(FIXTURE / "contract.yml", copy / "include" / "contracts" / f"{FEED}.yml")
    shutil.copy(FIXTURE / "rules.yml", copy / "expectations" / "rules" / f"{FEED}.yml")
    gx_root = tmp_path_factory.mktemp("gx")
    script = copy / Path(__file__).relative_to(config.PROJECT_ROOT)
    try:
        done = subprocess.run(
            [sys.executable, str(script), str(FIXTURE / "landing"), str(gx_root)],
            cwd=copy,
            env={**os.environ, "PYTHONPATH": str(copy)},
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr[-4000:] + done.stdout[-2000:]
        yield {"result": json.loads(done.stdout.splitlines()[-1]), "before": before, "after": _digests(copy)}
    finally:
        _cleanup(warehouse)


pytestmark = pytest.mark.integration


def test_only_the_department_files_and_what_they_generate_change(fixture_run):
    before, after = fixture_run["before"], fixture_run["after"]
    changed = {name for name in before.keys() & after.keys() if before[name] != after[name]}
    added = after.keys() - before.keys()
    assert added - GENERATED == ADDED, (
        f"added beyond the fixture and the generated files: {sorted(added - GENERATED - ADDED)}"
    )
    assert GENERATED - {"dbt_project/macros/contract_staging.sql"} <= added, "the staging models were not generated"
    assert changed <= GENERATED, f"files edited beyond the generated ones: {sorted(changed - GENERATED)}"
    assert not before.keys() - after.keys()


def test_the_csv_pair_loads_and_stages_in_base_units(fixture_run):
    result = fixture_run["result"]
    assert [d["status"] for d in result["loaded"]] == ["loaded"] and not result["refused"]
    assert result["loaded"][0]["rows"] == {"detail": 6, "control_totals": 11}
    staged = {sample: (county, outcome, Decimal(fee)) for county, sample, outcome, fee in result["staged"]}
    assert staged["SY-2021-12-004"] == ("411425", "合格", Decimal("450.50"))
    assert len(staged) == 6
    declared = {county: (samples, passed, Decimal(fee)) for county, samples, passed, fee in result["declared"]}
    assert declared["411400"] == (6, 5, Decimal("2241"))  # 0.2241 万元
    assert declared["411425"] == (2, 2, Decimal("901"))


def test_the_gate_reports_exactly_the_figure_the_detail_does_not_bear_out(fixture_run):
    outcomes = fixture_run["result"]["outcomes"]
    assert set(outcomes) == {
        "drinking_water_control_totals_county_sum",
        "drinking_water_samples_match_detail",
        "drinking_water_passed_match_detail",
        "drinking_water_fee_matches_detail",
    }
    assert not any(o["error"] for o in outcomes.values()), outcomes
    failed = {rule for rule, o in outcomes.items() if not o["success"]}
    assert failed == {"drinking_water_passed_match_detail"}
    rows = outcomes["drinking_water_passed_match_detail"]["rows"]
    found = sorted(
        (r["county_code"], r["measure"], Decimal(str(r["declared"])), Decimal(str(r["computed"]))) for r in rows
    )
    assert found == [("411400", "passed", 5, 4), ("411425", "passed", 2, 1)], rows


if __name__ == "__main__":
    print(json.dumps(drive(Path(sys.argv[1]), Path(sys.argv[2])), default=str, ensure_ascii=False))
