"""The committed Great Expectations 1.x file context under ``expectations/gx``.

``compile_context()`` turns the YAML rules into suites, validation definitions
and one checkpoint (``gate``); ``run_checkpoint()`` runs it against the
month-scoped ``gate.*`` views. The connection string is the variable
``${SQW_GX_URL}``, given to each context at run time (GX's runtime environment): no
secret is committed, and the process environment is never changed. Recompiling
unchanged rules changes no file: suites, expectations, validation definitions and
the checkpoint keep their ids.

The committed files are for review too: GX writes its JSON with ``\\u`` escapes, so
``compile_context`` rewrites it as UTF-8 (same keys, order and indentation; GX reads it
back as it is). A JSON string holds a query on one line, so it also writes each suite's
queries as they read, one SQL block per rule, to ``gx/queries/<relation>.md`` (for the
reviewer; GX does not read it).

Both take a ``root_dir`` (default: the committed ``expectations/``), so tests can
compile their own rules (``rules``) over scratch schemas (``schemas``) into a
temporary context.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from include import config
from include.files import write_if_changed
from include.gate.rule_schema import WAREHOUSE, Rule, Schemas, all_rules
from include.gate.rule_sql import compile_sql

DATASOURCE = "warehouse"
CHECKPOINT = "gate"
URL_VARIABLE = "SQW_GX_URL"
MONTH_SETTING = "sqw.gate_month"  # the month a gate session validates (see gate.prepare_views)
_FIELDS = ("unexpected_rows_query", "description", "meta", "severity")  # what a rule sets on its expectation
STORES = ("expectations", "validation_definitions", "checkpoints")  # the folders of gx/ GX writes JSON into
QUERIES_DIR = "queries"  # gx/queries/<relation>.md: each suite's queries, on readable lines


NO_DATABASE = "postgresql+psycopg2://unused@127.0.0.1/unused"  # for what needs no connection (Data Docs)


def _context(url: str = NO_DATABASE, root_dir: Path | None = None) -> Any:
    """The file context, its ``${SQW_GX_URL}`` resolved from ``url`` (never from or into ``os.environ``)."""
    import great_expectations as gx  # noqa: PLC0415

    return gx.get_context(
        mode="file", project_root_dir=str(root_dir or config.GX_ROOT_DIR), runtime_environment={URL_VARIABLE: url}
    )


def month_url(url: str, month: dt.date) -> str:
    """``url`` with the session setting that scopes the ``gate.*`` views to ``month``."""
    option = quote(f"-c {MONTH_SETTING}={month.isoformat()}")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


def relations(rules: Sequence[Rule] | None = None) -> list[str]:
    """The primary relation of every rule: one GX asset, suite and validation definition each."""
    return sorted({rule.relation for rule in (all_rules() if rules is None else rules)})


def referenced_relations(rules: Sequence[Rule] | None = None) -> list[str]:
    """Every relation any rule reads: each gets a month-scoped ``gate.*`` view."""
    return sorted({name for rule in (all_rules() if rules is None else rules) for name in rule.relations()})


def compile_context(
    url: str,
    root_dir: Path | None = None,
    rules: Sequence[Rule] | None = None,
    schemas: Schemas = WAREHOUSE,
) -> None:
    """(Re)write datasource, assets, suites, validation definitions and the checkpoint.

    GX checks that the datasource and each ``gate.*`` relation exist, so this
    needs the warehouse (``make rules`` starts it and creates the views).
    """
    import great_expectations as gx  # noqa: PLC0415

    rules = all_rules() if rules is None else rules
    ctx = _context(url, root_dir)
    try:
        source = ctx.data_sources.get(DATASOURCE)
    except (KeyError, ValueError):
        source = ctx.data_sources.add_postgres(name=DATASOURCE, connection_string="${" + URL_VARIABLE + "}")
    wanted = relations(rules)
    for asset in [a.name for a in source.assets if a.name not in wanted]:
        source.delete_asset(asset)
    for name in [c.name for c in ctx.checkpoints.all() if c.name != CHECKPOINT]:
        ctx.checkpoints.delete(name)
    for name in [v.name for v in ctx.validation_definitions.all() if v.name not in wanted]:
        ctx.validation_definitions.delete(name)
    for name in [s.name for s in ctx.suites.all() if s.name not in wanted]:
        ctx.suites.delete(name)
    definitions = []
    for relation in wanted:
        try:
            asset = source.get_asset(relation)
        except LookupError:
            asset = source.add_table_asset(name=relation, table_name=relation, schema_name=schemas.gate)
        try:
            batch = asset.get_batch_definition("month")
        except (KeyError, ValueError):
            batch = asset.add_batch_definition_whole_table("month")
        suite = _sync_suite(ctx, relation, [r for r in rules if r.relation == relation], schemas)
        definition = _get(ctx.validation_definitions, relation)
        if definition is not None and definition.suite.id != suite.id:
            ctx.validation_definitions.delete(relation)
            definition = None
        if definition is None:
            definition = ctx.validation_definitions.add(gx.ValidationDefinition(name=relation, data=batch, suite=suite))
        definitions.append(definition)
    _sync_checkpoint(ctx, definitions)
    write_readable(ctx.root_directory, rules, schemas)


def _sync_checkpoint(ctx: Any, definitions: list[Any]) -> None:
    """The checkpoint ``gate`` runs ``definitions``; left untouched when it already does."""
    import great_expectations as gx  # noqa: PLC0415

    checkpoint = _get(ctx.checkpoints, CHECKPOINT)
    if checkpoint is not None:
        if [v.id for v in checkpoint.validation_definitions] == [d.id for d in definitions]:
            return
        ctx.checkpoints.delete(CHECKPOINT)
    ctx.checkpoints.add(
        gx.Checkpoint(name=CHECKPOINT, validation_definitions=definitions, result_format={"result_format": "COMPLETE"})
    )


def utf8_json(text: str) -> str:
    """GX's JSON as GX writes it (indented by 2, keys sorted, no final newline), but UTF-8 instead of ``\\u``."""
    return json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False)


def query_files(rules: Sequence[Rule], schemas: Schemas = WAREHOUSE) -> dict[str, str]:
    """What ``gx/queries`` holds: by ``<relation>.md``, the queries of that suite as its expectations have them."""
    return {
        f"{relation}.md": _queries(relation, [r for r in rules if r.relation == relation], schemas)
        for relation in relations(rules)
    }


def _queries(relation: str, rules: list[Rule], schemas: Schemas) -> str:
    """The page of one suite: a heading, then each rule (id, kind, severity, owner, descriptions) and its query."""
    parts = [
        f"# {relation}\n\nGenerated by `make rules` from `expectations/rules/*.yml`: the `unexpected_rows_query`"
        f" of each expectation in `expectations/{relation}.json`, as it reads (`{{batch}}`: the month's rows of"
        f" {relation}).\n"
    ]
    for rule in rules:
        parts.append(
            f"## {rule.id}\n\n{rule.kind}, {rule.severity}, {rule.owner}: {rule.description_zh} / {rule.description_en}"
            f"\n\n```sql\n{compile_sql(rule, schemas)}\n```\n"
        )
    return "\n".join(parts)


def write_readable(gx_dir: str | Path, rules: Sequence[Rule], schemas: Schemas = WAREHOUSE) -> None:
    """Rewrite the JSON GX wrote in ``gx_dir`` as UTF-8, and write ``gx_dir/queries`` (the suites' pages only).

    Only what differs is written, so recompiling unchanged rules still changes no file.
    """
    gx_dir = Path(gx_dir)
    for path in sorted(p for store in STORES for p in (gx_dir / store).glob("*.json")):
        write_if_changed(path, utf8_json(path.read_text(encoding="utf-8")))
    pages = query_files(rules, schemas)
    for path in (gx_dir / QUERIES_DIR).glob("*.md"):
        if path.name not in pages:
            path.unlink()
    for name, text in pages.items():
        write_if_changed(gx_dir / QUERIES_DIR / name, text)


def _get(factory: Any, name: str) -> Any:
    """A suite, validation definition or checkpoint by name; None when there is none."""
    from great_expectations.exceptions import DataContextError  # noqa: PLC0415

    try:
        return factory.get(name)
    except DataContextError:
        return None


def _sync_suite(ctx: Any, name: str, rules: list[Rule], schemas: Schemas) -> Any:
    """The suite ``name`` holding one expectation per rule; unchanged expectations are left untouched."""
    import great_expectations as gx  # noqa: PLC0415

    suite = _get(ctx.suites, name)
    if suite is None:  # written once, with all its expectations
        return ctx.suites.add(gx.ExpectationSuite(name=name, expectations=[expectation(r, schemas) for r in rules]))
    existing = {e.meta.get("rule_id"): e for e in suite.expectations}
    for rule in rules:
        wanted = expectation(rule, schemas)
        current = existing.pop(rule.id, None)
        if current is None:
            suite.add_expectation(wanted)
        elif any(getattr(current, field) != getattr(wanted, field) for field in _FIELDS):
            for field in _FIELDS:
                setattr(current, field, getattr(wanted, field))
            current.save()
    for stale in existing.values():
        suite.delete_expectation(stale)
    return suite


def expectation(rule: Rule, schemas: Schemas = WAREHOUSE) -> Any:
    import great_expectations as gx  # noqa: PLC0415
    from great_expectations.expectations.metadata_types import FailureSeverity  # noqa: PLC0415

    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=compile_sql(rule, schemas),
        description=f"{rule.description_zh} / {rule.description_en}",
        meta={"rule_id": rule.id, "kind": rule.kind, "severity": rule.severity, "owner": rule.owner},
        severity=FailureSeverity.CRITICAL if rule.severity == "fail" else FailureSeverity.WARNING,  # for data docs
    )


@dataclass(frozen=True)
class Outcome:
    rule_id: str
    relation: str
    success: bool
    unexpected_rows: list[dict[str, Any]]
    error: str | None
    unexpected_count: int | None = None  # when more rows failed than unexpected_rows keeps (dbt tests)


def run_checkpoint(url: str, month: dt.date, root_dir: Path | None = None) -> list[Outcome]:
    """Run the gate checkpoint on ``month``; one outcome per rule."""
    ctx = _context(month_url(url, month), root_dir)
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
