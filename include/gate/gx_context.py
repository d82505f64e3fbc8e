"""The committed Great Expectations 1.x file context under ``expectations/gx``.

``compile_context()`` turns the YAML rules into suites, validation definitions
and one checkpoint (``gate``); ``run_checkpoint()`` runs it against the
month-scoped ``gate.*`` views. The connection string is the variable
``${SQW_GX_URL}``, resolved from the environment at run time: no secret is
committed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from include import config
from include.gate.rules import Rule, all_rules, compile_sql

DATASOURCE = "warehouse"
CHECKPOINT = "gate"
URL_VARIABLE = "SQW_GX_URL"


def _context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx  # noqa: PLC0415

    return gx.get_context(mode="file", project_root_dir=str(config.GX_ROOT_DIR))


def relations() -> list[str]:
    """The primary relation of every rule: one GX asset, suite and validation definition each."""
    return sorted({rule.relation for rule in all_rules()})


def referenced_relations() -> list[str]:
    """Every relation any rule reads: each gets a month-scoped ``gate.*`` view."""
    return sorted({name for rule in all_rules() for name in rule.relations()})


def compile_context(url: str) -> None:
    """(Re)write datasource, assets, suites, validation definitions and the checkpoint.

    GX checks that the datasource and each ``gate.*`` relation exist, so this
    needs the warehouse (``make rules`` starts it and creates the views).
    """
    import great_expectations as gx  # noqa: PLC0415

    os.environ[URL_VARIABLE] = url
    ctx = _context()
    try:
        source = ctx.data_sources.get(DATASOURCE)
    except (KeyError, ValueError):
        source = ctx.data_sources.add_postgres(name=DATASOURCE, connection_string="${" + URL_VARIABLE + "}")
    for name in [c.name for c in ctx.checkpoints.all()]:
        ctx.checkpoints.delete(name)
    for name in [v.name for v in ctx.validation_definitions.all()]:
        ctx.validation_definitions.delete(name)
    for name in [s.name for s in ctx.suites.all()]:
        ctx.suites.delete(name)
    definitions = []
    for relation in relations():
        try:
            asset = source.get_asset(relation)
        except LookupError:
            asset = source.add_table_asset(name=relation, table_name=relation, schema_name=config.SCHEMA_GATE)
        try:
            batch = asset.get_batch_definition("month")
        except (KeyError, ValueError):
            batch = asset.add_batch_definition_whole_table("month")
        suite = ctx.suites.add(gx.ExpectationSuite(name=relation))
        for rule in (r for r in all_rules() if r.relation == relation):
            suite.add_expectation(expectation(rule))
        definitions.append(
            ctx.validation_definitions.add(gx.ValidationDefinition(name=relation, data=batch, suite=suite))
        )
    ctx.checkpoints.add(
        gx.Checkpoint(name=CHECKPOINT, validation_definitions=definitions, result_format={"result_format": "COMPLETE"})
    )


def expectation(rule: Rule) -> Any:
    import great_expectations as gx  # noqa: PLC0415

    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=compile_sql(rule),
        description=f"{rule.description_zh} / {rule.description_en}",
        meta={"rule_id": rule.id, "kind": rule.kind, "severity": rule.severity, "owner": rule.owner},
    )


@dataclass(frozen=True)
class Outcome:
    rule_id: str
    relation: str
    success: bool
    unexpected_rows: list[dict[str, Any]]
    error: str | None


def run_checkpoint(url: str) -> list[Outcome]:
    """Run the gate checkpoint; one outcome per rule."""
    os.environ[URL_VARIABLE] = url
    ctx = _context()
    result = ctx.checkpoints.get(CHECKPOINT).run()
    outcomes = []
    for run in result.run_results.values():
        payload = run.to_json_dict()
        relation = payload["suite_name"]
        for item in payload["results"]:
            meta = item["expectation_config"]["meta"]
            error = _exception_message(item.get("exception_info") or {})
            outcomes.append(
                Outcome(
                    rule_id=meta["rule_id"],
                    relation=relation,
                    success=bool(item["success"]),
                    unexpected_rows=list((item.get("result") or {}).get("details", {}).get("unexpected_rows", [])),
                    error=error,
                )
            )
    return outcomes


def _exception_message(info: dict[str, Any]) -> str | None:
    """GX reports errors either flat or keyed by metric; find the first message."""
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("exception_message"):
            return str(value["exception_message"])
    return None
