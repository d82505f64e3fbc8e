"""Write-audit-publish: validate the candidate marts for a month, then publish or hold back.

1. ``prepare_views`` scopes every gated relation to the run's month (``gate.*``).
2. ``validate`` runs the GX checkpoint and records every rule's outcome in ``dq``.
3. ``publish`` copies the candidate marts into the BI schema in one transaction,
   only when no rule of severity ``fail`` failed; otherwise the published marts
   stay exactly as they were, and the decision is logged with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from psycopg import Connection, sql
from psycopg.types.json import Jsonb

from include import config
from include.gate import gx_context
from include.gate.rules import WAREHOUSE, Rule, Schemas, all_rules


@dataclass(frozen=True)
class Verdict:
    month: dt.date
    passed: list[str]
    failed: list[str]  # rule ids of severity fail that failed (or errored)
    warned: list[str]  # rule ids of severity warn that failed

    @property
    def publishable(self) -> bool:
        return not self.failed


def ensure_dq_schema(conn: Connection) -> None:
    conn.execute(resources.files("include.gate").joinpath("schema.sql").read_text(encoding="utf-8"))


def prepare_views(
    conn: Connection, month: dt.date | None, rules: Sequence[Rule] | None = None, schemas: Schemas = WAREHOUSE
) -> None:
    """``gate.<relation>``: the relation restricted to ``month`` (None: no rows, for compiling)."""
    for relation in gx_context.referenced_relations(rules):
        condition = sql.SQL("month_start = {}").format(sql.Literal(month)) if month else sql.SQL("false")
        conn.execute(
            sql.SQL("create or replace view {} as select * from {} where {}").format(
                sql.Identifier(schemas.gate, relation),
                sql.Identifier(schemas.schema_of(relation), relation),
                condition,
            )
        )


def _number(value: object) -> object:
    return value if isinstance(value, int | float) or value is None else str(value)


def validate(conn: Connection, url: str, month: dt.date, run_id: str) -> Verdict:
    """Run every rule on the month's candidate data and record the outcomes."""
    with conn.transaction():
        prepare_views(conn, month)
    outcomes = gx_context.run_checkpoint(url)
    rules: dict[str, Rule] = {rule.id: rule for rule in all_rules()}
    passed, failed, warned = [], [], []
    with conn.transaction():
        conn.execute("delete from dq.rule_runs where run_id = %s and month_start = %s", [run_id, month])
        for outcome in outcomes:
            rule = rules[outcome.rule_id]
            status = "error" if outcome.error else ("passed" if outcome.success else "failed")
            (rule_run_id,) = conn.execute(
                """insert into dq.rule_runs (run_id, month_start, rule_id, kind, relation, severity, status,
                       unexpected_count, owner, description_zh, description_en, error)
                   values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning rule_run_id""",
                [
                    run_id,
                    month,
                    rule.id,
                    rule.kind,
                    rule.relation,
                    rule.severity,
                    status,
                    len(outcome.unexpected_rows),
                    rule.owner,
                    rule.description_zh,
                    rule.description_en,
                    outcome.error,
                ],
            ).fetchone() or (0,)
            for row in outcome.unexpected_rows:
                conn.execute(
                    """insert into dq.rule_failures (rule_run_id, county_code, month_start, measure, declared,
                           computed, difference, row_detail) values (%s, %s, %s, %s, %s, %s, %s, %s)""",
                    [
                        rule_run_id,
                        row.get("county_code"),
                        row.get("month_start"),
                        row.get("measure"),
                        row.get("declared"),
                        row.get("computed"),
                        row.get("difference"),
                        Jsonb(json.loads(json.dumps(row, default=str))),
                    ],
                )
            if status == "passed":
                passed.append(rule.id)
            elif rule.severity == "fail":
                failed.append(rule.id)
            else:
                warned.append(rule.id)
    return Verdict(month, passed, failed, warned)


def candidate_marts(conn: Connection) -> list[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s order by table_name",
        [config.SCHEMA_CANDIDATE],
    ).fetchall()
    return [name for (name,) in rows]


def _source_files(conn: Connection, month: dt.date) -> list[dict[str, object]]:
    rows = conn.execute(
        """select feed, file_name, file_sha256, version from ops.loads
           where is_current and feed_month = %s order by feed""",
        [month],
    ).fetchall()
    return [{"feed": f, "file_name": n, "sha256": h, "version": v} for f, n, h, v in rows]


def publish(conn: Connection, verdict: Verdict, run_id: str) -> int:
    """Publish every candidate mart atomically if the verdict allows; log the decision either way."""
    marts = candidate_marts(conn)
    status = "published" if verdict.publishable else "held_back"
    reason = None if verdict.publishable else "failed rules: " + ", ".join(verdict.failed)
    with conn.transaction():
        if verdict.publishable:
            for mart in marts:
                published = sql.Identifier(config.SCHEMA_PUBLISHED, mart)
                conn.execute(sql.SQL("drop table if exists {}").format(published))
                conn.execute(
                    sql.SQL("create table {} as table {}").format(
                        published, sql.Identifier(config.SCHEMA_CANDIDATE, mart)
                    )
                )
        (publication_id,) = conn.execute(
            """insert into dq.publications (run_id, month_start, status, marts, source_files, rules_passed,
                   rules_failed, reason) values (%s, %s, %s, %s, %s, %s, %s, %s) returning publication_id""",
            [
                run_id,
                verdict.month,
                status,
                marts,
                Jsonb(_source_files(conn, verdict.month)),
                len(verdict.passed),
                len(verdict.failed) + len(verdict.warned),
                reason,
            ],
        ).fetchone() or (0,)
    return int(publication_id)
