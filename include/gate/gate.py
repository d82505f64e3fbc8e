"""Write-audit-publish: validate the candidate marts for a month, then publish or hold back.

1. ``prepare_views`` scopes every gated relation to the month a gate session validates (``gate.*``).
2. ``validate`` runs the GX checkpoint, records every rule's outcome in ``dq``, and
   decides from dbt lineage which marts each failed ``fail`` rule taints.
3. ``publish`` replaces the month's rows of every untainted candidate mart in the BI
   schema, all in one transaction; a tainted mart keeps exactly what it had. Each
   publication appends the month's rows to the mart's history in ``dq``, so
   ``dq.<mart>_as_of(timestamp)`` returns the mart as it was published then.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from psycopg import Connection, sql
from psycopg.types.json import Jsonb

from include import config
from include.gate import gx_context
from include.gate.lineage import lineage
from include.gate.rules import WAREHOUSE, Rule, Schemas, all_rules


@dataclass(frozen=True)
class Verdict:
    month: dt.date
    passed: list[str]
    failed: list[str]  # rule ids of severity fail that failed (or errored)
    warned: list[str]  # rule ids of severity warn that failed
    held_back: dict[str, list[str]] = field(default_factory=dict)  # mart -> the failed rules that taint it
    owners: dict[str, str] = field(default_factory=dict)  # rule id -> owning department

    @property
    def publishable(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month.isoformat(),
            "passed": self.passed,
            "failed": self.failed,
            "warned": self.warned,
            "held_back": self.held_back,
            "owners": self.owners,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            dt.date.fromisoformat(data["month"]),
            list(data["passed"]),
            list(data["failed"]),
            list(data["warned"]),
            {mart: list(rules) for mart, rules in data.get("held_back", {}).items()},
            dict(data.get("owners", {})),
        )

    def by_owner(self) -> list[dict[str, Any]]:
        """One entry per owning department: its failed and warned rules (for one Airflow task each)."""
        owners = sorted(set(self.owners.values()))
        return [
            {
                "month": self.month.isoformat(),
                "owner": owner,
                "failed": [r for r in self.failed if self.owners.get(r) == owner],
                "warned": [r for r in self.warned if self.owners.get(r) == owner],
            }
            for owner in owners
        ]


def ensure_dq_schema(conn: Connection) -> None:
    conn.execute(resources.files("include.gate").joinpath("schema.sql").read_text(encoding="utf-8"))


_VIEWS_LOCK = 4114_0001  # advisory lock: one session at a time (re)creates the gate views


def prepare_views(conn: Connection, rules: Sequence[Rule] | None = None, schemas: Schemas = WAREHOUSE) -> None:
    """``gate.<relation>``: the relation restricted to the month its session validates.

    The month is not in the view but in the session's ``sqw.gate_month`` setting
    (``gx_context.run_checkpoint`` sets it on its own connections), so two gate runs
    of different months share no mutable state: the views are the same for every
    month and are only (re)created when a relation's columns changed. Without the
    setting a view has no rows (for compiling).
    """
    condition = sql.SQL("month_start = nullif(current_setting({}, true), '')::date").format(
        sql.Literal(gx_context.MONTH_SETTING)
    )
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", [_VIEWS_LOCK])
        for relation in gx_context.referenced_relations(rules):
            view = sql.Identifier(schemas.gate, relation)
            source = sql.Identifier(schemas.schema_of(relation), relation)
            if _view_is_current(conn, schemas, relation):
                continue  # never replaced under a concurrent reader
            conn.execute(sql.SQL("drop view if exists {}").format(view))
            conn.execute(sql.SQL("create view {} as select * from {} where {}").format(view, source, condition))


def _view_is_current(conn: Connection, schemas: Schemas, relation: str) -> bool:
    """The gate view exists, reads the session's month and has its relation's columns."""
    found = conn.execute("select pg_get_viewdef(to_regclass(%s))", [f'"{schemas.gate}"."{relation}"']).fetchone()
    if not found or not found[0] or gx_context.MONTH_SETTING not in found[0]:
        return False
    return _columns(conn, schemas.gate, relation) == _columns(conn, schemas.schema_of(relation), relation)


def _number(value: object) -> object:
    return value if isinstance(value, int | float) or value is None else str(value)


def validate(conn: Connection, url: str, month: dt.date, run_id: str) -> Verdict:
    """Run every rule on the month's candidate data and record the outcomes."""
    prepare_views(conn)
    outcomes = gx_context.run_checkpoint(url, month)
    rules: dict[str, Rule] = {rule.id: rule for rule in all_rules()}
    passed, failed, warned = [], [], []
    held_back: dict[str, list[str]] = {}
    with conn.transaction():
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
                named = {str(row["mart"]) for row in outcome.unexpected_rows if row.get("mart")}
                for mart in lineage().affected_marts(rule.relations(), named):
                    held_back.setdefault(mart, []).append(rule.id)
            else:
                warned.append(rule.id)
    owners = {rule.id: rule.owner for rule in rules.values()}
    return Verdict(month, passed, failed, warned, held_back, owners)


def candidate_marts(conn: Connection) -> list[str]:
    """The marts dbt built into the candidate schema (tables and partitioned parents, not partitions)."""
    rows = conn.execute(
        """select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition order by c.relname""",
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


def _columns(conn: Connection, schema: str, table: str) -> list[str]:
    rows = conn.execute(
        """select attname from pg_attribute where attrelid = to_regclass(%s) and attnum > 0
           and not attisdropped order by attnum""",
        [f'"{schema}"."{table}"'],
    ).fetchall()
    return [name for (name,) in rows]


def _publish_mart(conn: Connection, mart: str, month: dt.date, publication_id: int) -> None:
    """Replace ``month`` of one published mart with the candidate's rows, and append them to its history."""
    candidate = sql.Identifier(config.SCHEMA_CANDIDATE, mart)
    published = sql.Identifier(config.SCHEMA_PUBLISHED, mart)
    history = sql.Identifier(config.SCHEMA_DQ, mart + "__history")
    columns = _columns(conn, config.SCHEMA_CANDIDATE, mart)
    if _columns(conn, config.SCHEMA_PUBLISHED, mart) not in ([], columns):
        # The mart was redefined: its published table and history start again from this month.
        conn.execute(sql.SQL("drop table {} cascade").format(published))
        conn.execute(sql.SQL("drop table if exists {} cascade").format(history))
    conn.execute(sql.SQL("create table if not exists {} (like {})").format(published, candidate))
    conn.execute(
        sql.SQL("create index if not exists {} on {} (month_start)").format(
            sql.Identifier(mart + "__by_month"), published
        )
    )
    conn.execute(sql.SQL("delete from {} where month_start = %s").format(published), [month])
    conn.execute(
        sql.SQL("insert into {} select * from {} where month_start = %s").format(published, candidate), [month]
    )
    conn.execute(
        sql.SQL(
            """create table if not exists {} (like {}, publication_id bigint not null,
               published_at timestamptz not null, superseded_at timestamptz)"""
        ).format(history, candidate)
    )
    conn.execute(
        sql.SQL("update {} set superseded_at = now() where month_start = %s and superseded_at is null").format(history),
        [month],
    )
    conn.execute(
        sql.SQL("insert into {} select *, %s, now(), null from {} where month_start = %s").format(history, candidate),
        [publication_id, month],
    )
    conn.execute(
        sql.SQL(
            """create or replace function {fn}(at timestamptz) returns setof {h} language sql stable as
               $$ select * from {h} where published_at <= at and (superseded_at is null or superseded_at > at) $$"""
        ).format(fn=sql.Identifier(config.SCHEMA_DQ, mart + "_as_of"), h=history)
    )


@dataclass(frozen=True)
class Publication:
    publication_id: int
    status: str  # published | partial | held_back
    released: list[str]  # the marts whose month was published
    held: list[str]  # the marts held back (their published month stays as it was)


def publish(conn: Connection, verdict: Verdict, run_id: str) -> Publication:
    """Publish the month of every mart no failed rule taints, in one transaction; log the decision."""
    marts = candidate_marts(conn)
    held = sorted(set(verdict.held_back) & set(marts)) if verdict.failed else []
    if verdict.failed and not verdict.held_back:
        held = marts  # a failure lineage cannot place holds everything back
    released = [mart for mart in marts if mart not in held]
    status = "published" if not held else ("partial" if released else "held_back")
    reason = None if not held else "failed rules: " + ", ".join(verdict.failed)
    with conn.transaction():
        (publication_id,) = conn.execute(
            """insert into dq.publications (run_id, month_start, status, marts, held_back, source_files,
                   rule_results, rules_passed, rules_failed, reason)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning publication_id""",
            [
                run_id,
                verdict.month,
                status,
                released,
                held,
                Jsonb(_source_files(conn, verdict.month)),
                Jsonb({"failed": verdict.failed, "warned": verdict.warned, "held_back": verdict.held_back}),
                len(verdict.passed),
                len(verdict.failed) + len(verdict.warned),
                reason,
            ],
        ).fetchone() or (0,)
        for mart in released:
            _publish_mart(conn, mart, verdict.month, int(publication_id))
    return Publication(int(publication_id), status, released, held)
