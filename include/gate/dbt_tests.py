"""The dbt tests of a month, as checks the gate records and judges like its rules.

dbt keeps the structural checks (keys, not null, relationships, accepted values, unit tests); the
arithmetic business rules live in ``expectations/rules``. ``run`` executes ``dbt test`` once, in
process (dbt's runner), over the models the monthly DAG builds, and turns each test's result into
a check for ``gate.validate``: ``kind`` ``dbt_test`` (or ``dbt_unit_test``), ``relation`` the model
tested, ``rule_id`` the test's name, and up to ``ROWS_KEPT`` of its failing rows. A failing or
erroring test never fails the task: the gate records it in ``dq`` and holds back the marts built
from the model it tests (dbt lineage); the other marts still publish.

dbt logs in with a profile written to a private temporary folder from the connection URL it is
given (the Airflow connection ``sqw_warehouse``); the process environment is never changed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from include import config
from include.cosmos_config import MONTHLY_EXCLUDE
from include.gate.gx_context import Outcome
from include.gate.rule_schema import Rule

log = logging.getLogger(__name__)
OWNER = "data_engineering"  # who answers for a structural failure (a test's `meta: {owner: ...}` overrides it)
OWNER_ZH = "数据工程组"  # the warehouse's own engineers: not a department that sends a feed
ROWS_KEPT = 200  # failing rows kept per test in dq.rule_failures (as many as GX keeps of a rule's)
INVOCATION = "dbt_test"  # the check recorded when dbt itself could not run the tests


def _profile(url: str) -> dict[str, Any]:
    """A dbt profile for ``url`` (dbt renders profile values as Jinja: the password is kept raw)."""
    parts = conninfo_to_dict(url)
    password = str(parts.get("password") or "")
    return {
        "shangqiu": {
            "target": "warehouse",
            "outputs": {
                "warehouse": {
                    "type": "postgres",
                    "host": parts.get("host", "127.0.0.1"),
                    "port": int(parts.get("port") or 5432),
                    "user": parts.get("user", config.ROLE_TRANSFORMER),
                    "password": "{% raw %}" + password + "{% endraw %}" if password else "",
                    "dbname": parts.get("dbname", config.DATABASE),
                    "schema": config.SCHEMA_CORE,
                    "threads": 4,
                    "connect_timeout": 10,
                }
            },
        }
    }


def _status(result: Any) -> str:
    return {"pass": "passed", "fail": "failed", "warn": "failed", "error": "error"}.get(str(result.status), "error")


def _tested_model(node: Any) -> str:
    """The model a test checks: its attached node (data tests), the model under test (unit tests)."""
    for unique_id in (getattr(node, "attached_node", None), getattr(node, "tested_node_unique_id", None)):
        if unique_id:
            return str(unique_id).split(".")[2]
    if getattr(node, "model", None):
        return str(node.model)
    models = [uid for uid in node.depends_on.nodes if uid.startswith("model.")]
    return models[0].split(".")[2] if models else ""


def _rule(node: Any, rule_id: str) -> Rule:
    model = _tested_model(node)
    unit = str(node.resource_type) == "unit_test"
    meta = getattr(node.config, "meta", None) or {}
    severity = "warn" if str(getattr(node.config, "severity", "error")).lower() == "warn" else "fail"
    metadata = getattr(node, "test_metadata", None)
    what = "unit" if unit else (metadata.name if metadata else "singular")
    column = getattr(node, "column_name", None)
    target = f"{model}.{column}" if column else model
    description = " ".join(str(getattr(node, "description", "") or "").split())
    return Rule(
        id=rule_id,
        kind="dbt_unit_test" if unit else "dbt_test",
        relation=model,
        severity=severity,
        owner=str(meta.get("owner") or OWNER),
        description_zh=f"dbt 结构校验 {what}：{target}" + (f"（{description}）" if description else ""),
        description_en=f"dbt {what} test of {target}" + (f": {description}" if description else ""),
    )


def _failing_rows(conn: psycopg.Connection[Any], node: Any, result: Any) -> list[dict[str, Any]]:
    """A data test's failing rows (its compiled query), at most ``ROWS_KEPT``; a unit test's difference."""
    if str(node.resource_type) == "unit_test":
        return [{"message": str(result.message or "")}]
    try:
        query = sql.SQL("select * from (\n{}\n) as failing limit {}").format(
            sql.SQL(node.compiled_code), sql.Literal(ROWS_KEPT)
        )
        rows = conn.execute(query).fetchall()
    except psycopg.Error as exc:  # the count is recorded either way
        log.warning("%s: could not read the failing rows: %s", node.name, exc)
        return []
    return [json.loads(json.dumps(row, default=str)) for row in rows]


def run(url: str, month: dt.date, taken: set[str] | None = None) -> list[tuple[Rule, Outcome]]:
    """``dbt test`` of the monthly models for ``month``: one (check, outcome) per test.

    ``taken``: ids already used by rules (a test of the same name is recorded under its unique id).
    """
    from dbt.cli.main import dbtRunner  # noqa: PLC0415  (dbt loads only when the gate runs)

    taken = set(taken or ())
    with tempfile.TemporaryDirectory(prefix="sqw-dbt-test-") as folder:
        work = Path(folder)
        (work / "profiles.yml").write_text(yaml.safe_dump(_profile(url)), encoding="utf-8")
        args = [
            "test",
            *("--project-dir", str(config.DBT_PROJECT_DIR), "--profiles-dir", folder),
            *("--target-path", str(work / "target"), "--log-path", str(work / "logs")),
            *("--vars", json.dumps({"month": month.isoformat()}), "--exclude", *MONTHLY_EXCLUDE),
            *("--no-write-json", "--no-send-anonymous-usage-stats", "--no-use-colors"),
        ]
        invoked = dbtRunner().invoke(args)
        results = getattr(invoked.result, "results", None)
        if results is None:  # dbt could not run the tests at all: nothing is known, every mart waits
            reason = f"dbt test did not run: {invoked.exception or invoked.result}"
            log.error(reason)
            rule = Rule(
                INVOCATION, "dbt_test", "", "fail", OWNER, "dbt 结构校验未能运行", "dbt could not run the tests"
            )
            return [(rule, Outcome(INVOCATION, "", False, [], reason))]
        checks = []
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            for result in sorted(results, key=lambda r: r.node.unique_id):
                node, status = result.node, _status(result)
                rule_id = node.name if node.name not in taken else node.unique_id
                taken.add(rule_id)
                rule = _rule(node, rule_id)
                rows = _failing_rows(conn, node, result) if status == "failed" else []
                error = str(result.message or status) if status == "error" else None
                count = int(result.failures or 0) if status == "failed" else 0
                checks.append((rule, Outcome(rule_id, rule.relation, status == "passed", rows, error, count)))
    failed = [rule.id for rule, outcome in checks if not outcome.success]
    log.info("%s: %d dbt test(s), %d failed or errored%s", f"{month:%Y-%m}", len(checks), len(failed), failed or "")
    return checks
