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
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from psycopg import Connection, errors, sql
from psycopg.types.json import Jsonb

from include import config, faults
from include.gate import blame, gx_context
from include.gate.checksum import table_checksum
from include.gate.lineage import lineage
from include.gate.rule_schema import WAREHOUSE, Rule, Schemas, all_rules

DECISIONS = {  # dq.publications.status: (中文, English)
    "published": ("已发布", "Published"),
    "partial": ("部分发布", "Partly published"),  # some marts published, the ones failed rules taint held back
    "held_back": ("暂缓发布", "Held back"),
}


@dataclass(frozen=True)
class Verdict:
    month: dt.date
    passed: list[str]
    failed: list[str]  # rule ids of severity fail that failed (or errored): they hold marts back
    warned: list[str]  # rule ids of severity warn that failed (or errored): warnings, which hold nothing back
    held_back: dict[str, list[str]] = field(default_factory=dict)  # mart -> the failed rules that taint it
    owners: dict[str, str] = field(default_factory=dict)  # rule id -> owning department
    flagged: dict[str, list[str]] = field(default_factory=dict)  # mart -> findings it is published with
    gate_run_id: int | None = None  # the dq.gate_runs row of the validation that decided it

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month.isoformat(),
            "passed": self.passed,
            "failed": self.failed,
            "warned": self.warned,
            "held_back": self.held_back,
            "owners": self.owners,
            "flagged": self.flagged,
            "gate_run_id": self.gate_run_id,
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
            {mart: list(rules) for mart, rules in data.get("flagged", {}).items()},
            data.get("gate_run_id"),
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


def validate(
    conn: Connection,
    url: str,
    month: dt.date,
    run_id: str,
    checked: Sequence[tuple[Rule, gx_context.Outcome]] = (),
    *,
    try_number: int | None = None,
) -> Verdict:
    """Run every rule on the month's candidate data, decide which side of each finding is wrong,
    record the outcomes, and write the month's official indicators (``blame``). ``checked``: checks
    run elsewhere (the month's dbt tests, ``dbt_tests.run``), recorded and judged like the rules.

    Each call is a gate run of its own (``dq.gate_runs``), recorded with the Airflow run id and try number,
    so reruns of a month under one run id stay apart in ``dq``."""
    prepare_views(conn)  # committed at once: the checks read the views from connections of their own
    with conn.transaction():
        (gate_run_id,) = conn.execute(
            "insert into dq.gate_runs (run_id, try_number, month_start) values (%s, %s, %s) returning gate_run_id",
            [run_id, try_number, month],
        ).fetchone() or (0,)
        read = candidate_checksums(conn, month)  # before the checks read the candidates (committed: no open snapshot)
    outcomes = gx_context.run_checkpoint(url, month)
    rules: dict[str, Rule] = {rule.id: rule for rule in [*all_rules(), *(rule for rule, _ in checked)]}
    marts = candidate_marts(conn)
    outcomes = [*outcomes, *(outcome for _, outcome in checked)]
    judged = [(rules[o.rule_id], o, "error" if o.error else ("passed" if o.success else "failed")) for o in outcomes]
    held_back = _held_by_own_checks(judged, marts)
    findings = _judge(judged, held_back)
    flagged: dict[str, list[str]] = {}
    for (rule, _, _), rows in zip(judged, findings, strict=True):
        for row in rows:
            if row["blame"] == "declared" and rule.id not in flagged.get(row["mart"], []):
                flagged.setdefault(row["mart"], []).append(rule.id)
            elif row["blame"] == "computed" and rule.id not in held_back[row["mart"]]:
                held_back[row["mart"]].append(rule.id)
    by_outcome: dict[str, list[str]] = {"passed": [], "fail": [], "warn": []}
    official: dict[tuple[str, str], tuple[str, int]] = {}
    with conn.transaction():
        for (rule, outcome, status), rows in zip(judged, findings, strict=True):
            count = outcome.unexpected_count
            rule_run_id = _record(
                conn, (run_id, gate_run_id), month, rule, status=status, error=outcome.error, rows=rows, count=count
            )
            by_outcome["passed" if status == "passed" else rule.severity].append(rule.id)
            for row in rows:
                for code, state in row["official"]:  # a withheld figure stays withheld whatever else found it
                    key = (str(row["county_code"]), code)
                    if official.get(key, ("",))[0] not in ("withheld", "undecided"):
                        official[key] = (state, rule_run_id)
        declared_rule = next(r for r in rules.values() if r.kind == "declared" and r.severity == "fail")
        blame.build_official_indicators(conn, month, declared_rule, official)
        conn.execute(
            "update dq.gate_runs set candidate_checksums = %s where gate_run_id = %s",
            [Jsonb(_checked(read, candidate_checksums(conn, month))), gate_run_id],
        )
    owners = {rule.id: rule.owner for rule in rules.values()}
    return Verdict(
        month, by_outcome["passed"], by_outcome["fail"], by_outcome["warn"], held_back, owners, flagged, gate_run_id
    )


def _held_by_own_checks(judged: list[tuple[Rule, gx_context.Outcome, str]], marts: list[str]) -> dict[str, list[str]]:
    """The marts each failed (or errored) fail rule holds back, by lineage; a declared figure that
    disagrees with its mart is judged later, against these."""
    held_back: dict[str, list[str]] = {}
    for rule, outcome, status in judged:
        if status == "passed" or rule.severity != "fail" or (rule.kind in blame.DECLARED_KINDS and status == "failed"):
            continue
        if rule.kind in blame.DECLARED_KINDS:  # errored: nothing is known of the declared figures
            affected = {blame.OFFICIAL} | lineage().affected_marts(rule.relations() - {rule.relation})
        else:
            named = {str(row["mart"]) for row in outcome.unexpected_rows if row.get("mart")}
            affected = lineage().affected_marts(rule.relations(), named) or (
                {blame.OFFICIAL} if blame.DECLARED_RELATION in rule.relations() else set(marts)  # unplaceable: all
            )
        for mart in affected:
            held_back.setdefault(mart, []).append(rule.id)
    return held_back


def _judge(judged: list[tuple[Rule, gx_context.Outcome, str]], held_back: dict[str, list[str]]) -> list[list[dict]]:
    """Each outcome's offending rows with ``blame``, explanations and ``official``: the (figure, status) of the
    official indicators they imply (``blame.STATUSES``)."""
    contradicted = {  # (county, month, figure) the detail contradicts: the figure's name
        (row["county_code"], str(row["month_start"]), row["measure"]): row.get("indicator_name") or row["measure"]
        for rule, outcome, status in judged
        if rule.kind == "declared" and status == "failed" and rule.severity == "fail"
        for row in outcome.unexpected_rows
    }
    found = []
    for rule, outcome, status in judged:
        rows = []
        for offending in outcome.unexpected_rows:
            row = {**offending, "blame": None, "explanation_zh": None, "explanation_en": None, "official": []}
            if rule.kind == "declared" and rule.severity == "fail" and status == "failed":
                failing = [r for r in held_back.get(row["mart"], []) if r != rule.id]
                row["blame"] = "computed" if failing else "declared"
                row["explanation_zh"], row["explanation_en"] = blame.declared_explanation(
                    row, row["mart"], row["blame"], failing
                )
                row["official"] = [(row["measure"], "undecided" if failing else "withheld")]
            elif rule.kind == "declared":  # finds: truncation
                row["explanation_zh"], row["explanation_en"] = blame.truncation_explanation(row)
                row["official"] = [(row["measure"], "truncated")]
            elif rule.kind == "consistency" and rule.severity == "fail":
                figures = str(row.get("figures", "")).split(",")
                month = str(row["month_start"])
                suspects = [
                    contradicted[key] for f in figures if (key := (row["county_code"], month, f)) in contradicted
                ]
                row["blame"] = "figures"
                row["explanation_zh"], row["explanation_en"] = blame.consistency_explanation(row, suspects)
                if not suspects:  # nothing tells which one is wrong: none of them is official
                    row["official"] = [(figure, "withheld") for figure in figures]
            elif rule.kind == "consistency":
                row["explanation_zh"], row["explanation_en"] = blame.truncation_explanation(row)
                row["official"] = [(row["measure"], "truncated")]
            rows.append(row)
        found.append(rows)
    return found


def _record(
    conn: Connection,
    run: tuple[str, int],
    month: dt.date,
    rule: Rule,
    *,
    status: str,
    error: str | None,
    rows: list[dict],
    count: int | None = None,
) -> int:
    """One rule's outcome in ``dq.rule_runs`` and its offending rows in ``dq.rule_failures`` (``run``: the
    Airflow run id and the gate run; ``count``: the rows that failed, when more than ``rows`` keeps)."""
    count = len(rows) if count is None else count
    (rule_run_id,) = conn.execute(
        """insert into dq.rule_runs (run_id, gate_run_id, month_start, rule_id, kind, relation, severity, status,
               unexpected_count, owner, description_zh, description_en, error)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning rule_run_id""",
        [*run, month, rule.id, rule.kind, rule.relation, rule.severity, status, count, rule.owner,
         rule.description_zh, rule.description_en, error],
    ).fetchone() or (0,)  # fmt: skip
    with conn.cursor() as cursor:
        cursor.executemany(
            """insert into dq.rule_failures (rule_run_id, county_code, month_start, measure, declared, computed,
                   difference, row_detail, blame, explanation_zh, explanation_en)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                [rule_run_id, row.get("county_code"), row.get("month_start"), row.get("measure"), row.get("declared"),
                 row.get("computed"), row.get("difference"), Jsonb(json.loads(json.dumps(_detail(row), default=str))),
                 row["blame"], row["explanation_zh"], row["explanation_en"]]
                for row in rows
            ],
        )  # fmt: skip
    return int(rule_run_id)


def _detail(row: dict) -> dict:
    return {key: value for key, value in row.items() if key not in ("official", "explanation_zh", "explanation_en")}


def candidate_checksums(conn: Connection, month: dt.date) -> dict[str, list[object]]:
    """Each candidate mart's month, (rows, md5): taken before the checks read it, compared at publication."""
    return {mart: list(table_checksum(conn, config.SCHEMA_CANDIDATE, mart, month)) for mart in candidate_marts(conn)}


def _checked(before: dict[str, list[object]], after: dict[str, list[object]]) -> dict[str, list[object] | None]:
    """What the checks read of each candidate mart: None for one that changed while they read it (the official
    indicators excepted: the gate itself writes them from the checks)."""
    return {mart: sums if mart == blame.OFFICIAL or before.get(mart) == sums else None for mart, sums in after.items()}


def _changed_since_validation(conn: Connection, verdict: Verdict, marts: list[str]) -> list[str]:
    """The marts whose candidate month is not the one the verdict's gate run checked (rebuilt since, or never
    checked): publishing them would publish what no check read. Locks the candidates against rebuilding first."""
    if marts:
        conn.execute(
            sql.SQL("lock table {} in share mode").format(
                sql.SQL(", ").join(sql.Identifier(config.SCHEMA_CANDIDATE, mart) for mart in marts)
            )
        )
    found = conn.execute(
        "select candidate_checksums from dq.gate_runs where gate_run_id = %s", [verdict.gate_run_id]
    ).fetchone()
    checked = (found and found[0]) or {}
    now = candidate_checksums(conn, verdict.month)
    return [mart for mart in marts if checked.get(mart) != now[mart]]


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
    return list(_column_types(conn, schema, table))


def _column_types(conn: Connection, schema: str, table: str) -> dict[str, str]:
    """A table's columns, in order, with their types; empty when it does not exist."""
    rows = conn.execute(
        """select attname, format_type(atttypid, atttypmod) from pg_attribute where attrelid = to_regclass(%s)
           and attnum > 0 and not attisdropped order by attnum""",
        [f'"{schema}"."{table}"'],
    ).fetchall()
    return dict(rows)


def breaking_change(conn: Connection, mart: str) -> list[str]:
    """The published columns the candidate mart removes or retypes (empty when none, or nothing is published).

    Added columns are not breaking: publication adds them in place. A removed or retyped column would break
    BI users' saved queries, so the mart is held back until it is published under a new version's name.
    """
    published = _column_types(conn, config.SCHEMA_PUBLISHED, mart)
    candidate = _column_types(conn, config.SCHEMA_CANDIDATE, mart)
    return [
        f"{name} {kind} → {candidate.get(name, 'removed')}"
        for name, kind in published.items()
        if candidate.get(name) != kind
    ]


def _add_columns(conn: Connection, table: sql.Identifier, have: dict[str, str], want: dict[str, str]) -> None:
    for name, kind in want.items():
        if name not in have:
            conn.execute(sql.SQL("alter table {} add column {} {}").format(table, sql.Identifier(name), sql.SQL(kind)))


def _copy_comments(conn: Connection, mart: str, target: sql.Identifier, table_comment: str | None = None) -> None:
    """Give ``target`` the candidate mart's table and column comments (its Chinese names and 口径)."""
    regclass = f'"{config.SCHEMA_CANDIDATE}"."{mart}"'
    (comment,) = conn.execute("select obj_description(to_regclass(%s), 'pg_class')", [regclass]).fetchone() or (None,)
    conn.execute(sql.SQL("comment on table {} is {}").format(target, sql.Literal(table_comment or comment)))
    rows = conn.execute(
        """select attname, col_description(attrelid, attnum) from pg_attribute
           where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped""",
        [regclass],
    ).fetchall()
    for name, text in rows:
        conn.execute(sql.SQL("comment on column {}.{} is {}").format(target, sql.Identifier(name), sql.Literal(text)))


def lock_up_front(conn: Connection, tables: Sequence[sql.Composable], attempts: int = 600) -> None:
    """Access exclusive locks on ``tables``, all at once, for the rest of the transaction (as the dbt macro
    ``lock_up_front`` does for a model).

    Readers (BI, auditors) hold access share locks, which only access exclusive conflicts with. A lock a
    reader holds is waited for at most half this session's deadlock_timeout (and 500 ms); then the attempt
    gives back what it took (its savepoint rolls back) and tries again, for up to about ten minutes. So the
    pipeline never waits while holding an exclusive lock a reader may want, and never waits long enough to
    run a deadlock check of its own: in a lock cycle with a reader, PostgreSQL can only pick the reader."""
    if not tables:
        return
    (previous, wait) = conn.execute(
        "select current_setting('lock_timeout'), "
        "least(500, extract(epoch from current_setting('deadlock_timeout')::interval) * 500)::int || 'ms'"
    ).fetchone() or ("0", "500ms")
    statement = sql.SQL("lock table {} in access exclusive mode").format(sql.SQL(", ").join(tables))
    for attempt in range(1, attempts + 1):
        try:
            with conn.transaction():
                conn.execute("select set_config('lock_timeout', %s, true)", [wait])
                conn.execute(statement)
            conn.execute("select set_config('lock_timeout', %s, true)", [previous])
            return
        except errors.LockNotAvailable:
            if attempt == attempts:
                raise
            time.sleep(min(attempt, 10) * 0.1)


def _gaining_columns(conn: Connection, marts: Sequence[str]) -> list[sql.Composable]:
    """The published tables and histories of ``marts`` that publication will add columns to."""
    found: list[sql.Composable] = []
    for mart in marts:
        wanted = _column_types(conn, config.SCHEMA_CANDIDATE, mart)
        for schema, table in ((config.SCHEMA_PUBLISHED, mart), (config.SCHEMA_DQ, mart + "__history")):
            have = _column_types(conn, schema, table)
            if have and set(wanted) - set(have):
                found.append(sql.Identifier(schema, table))
    return found


_HISTORY_COLUMNS = {
    "publication_id": ("bigint not null", "发布编号 — the dq.publications row that published this version."),
    "published_at": ("timestamptz not null", "发布时间 — when this version of the month was published."),
    "superseded_at": ("timestamptz", "替代时间 — when a later publication replaced it; null while it is current."),
}


def _publish_mart(conn: Connection, mart: str, month: dt.date, publication_id: int) -> None:
    """Replace ``month`` of one published mart with the candidate's rows, and append them to its history.

    New candidate columns are added to the published table and its history in place (earlier months read
    null there); the caller holds back a mart whose change would break readers (``breaking_change``).
    """
    candidate = sql.Identifier(config.SCHEMA_CANDIDATE, mart)
    published = sql.Identifier(config.SCHEMA_PUBLISHED, mart)
    history = sql.Identifier(config.SCHEMA_DQ, mart + "__history")
    columns = _column_types(conn, config.SCHEMA_CANDIDATE, mart)
    names = sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    conn.execute(sql.SQL("create table if not exists {} (like {})").format(published, candidate))
    _add_columns(conn, published, _column_types(conn, config.SCHEMA_PUBLISHED, mart), columns)
    _copy_comments(conn, mart, published)
    conn.execute(
        sql.SQL("create index if not exists {} on {} (month_start)").format(
            sql.Identifier(mart + "__by_month"), published
        )
    )
    conn.execute(sql.SQL("delete from {} where month_start = %s").format(published), [month])
    conn.execute(
        sql.SQL("insert into {} ({}) select {} from {} where month_start = %s").format(
            published, names, names, candidate
        ),
        [month],
    )
    extra = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, (kind, _) in _HISTORY_COLUMNS.items()
    )
    conn.execute(sql.SQL("create table if not exists {} (like {}, {})").format(history, candidate, extra))
    _add_columns(conn, history, _column_types(conn, config.SCHEMA_DQ, mart + "__history"), columns)
    _copy_comments(conn, mart, history, f"发布历史 — every published version of each month of marts.{mart}.")
    for name, (_, text) in _HISTORY_COLUMNS.items():
        conn.execute(sql.SQL("comment on column {}.{} is {}").format(history, sql.Identifier(name), sql.Literal(text)))
    conn.execute(
        sql.SQL("update {} set superseded_at = now() where month_start = %s and superseded_at is null").format(history),
        [month],
    )
    conn.execute(
        sql.SQL(
            """insert into {} ({}, publication_id, published_at, superseded_at)
               select {}, %s, now(), null from {} where month_start = %s"""
        ).format(history, names, names, candidate),
        [publication_id, month],
    )
    conn.execute(
        sql.SQL(
            """create or replace function {fn}(at timestamptz) returns setof {h} language sql stable as
               $$ select * from {h} where published_at <= at and (superseded_at is null or superseded_at > at) $$"""
        ).format(fn=sql.Identifier(config.SCHEMA_DQ, mart + "_as_of"), h=history)
    )


SCHEMA_CHANGE = "schema:breaking_change"  # what holds back a mart whose columns changed in a breaking way
UNCHECKED = "candidate:changed_since_validation"  # what holds back a mart rebuilt after its checks ran


@dataclass(frozen=True)
class Publication:
    publication_id: int
    status: str  # a key of DECISIONS
    released: list[str]  # the marts whose month was published
    held: list[str]  # the marts held back (their published month stays as it was)


def publish(conn: Connection, verdict: Verdict, run_id: str, *, try_number: int | None = None) -> Publication:
    """Publish the month of every mart no failed rule holds back (those a declared figure's finding concerns
    with a warning flag), in one transaction; log the decision with the gate run it rests on.

    A mart whose candidate changed after that gate run read it (a rebuild after the checks, a rerun of only
    this step) is held back too: what is published is always what the checks of the verdict read."""
    with conn.transaction():
        marts = candidate_marts(conn)
        unchecked = _changed_since_validation(conn, verdict, marts)
        breaking = {mart: change for mart in marts if (change := breaking_change(conn, mart))}
        held_back = {mart: list(rules) for mart, rules in verdict.held_back.items()}
        for mart in breaking:
            held_back.setdefault(mart, []).append(SCHEMA_CHANGE)
        for mart in unchecked:
            held_back.setdefault(mart, []).append(UNCHECKED)
        held = sorted(set(held_back) & set(marts))
        released = [mart for mart in marts if mart not in held]
        flagged = {mart: rules for mart, rules in verdict.flagged.items() if mart in released}
        status = "published" if not held else ("partial" if released else "held_back")
        pseudo = {SCHEMA_CHANGE, UNCHECKED}
        failed_rules = sorted({r for m in held for r in held_back[m] if r not in pseudo})
        reasons = (
            (["failed rules: " + ", ".join(failed_rules)] if failed_rules else [])
            + [
                f"{mart} would remove or retype published columns ({'; '.join(change)}): publish it as a new "
                f"version ({mart}_v2, a dbt model version) instead"
                for mart, change in sorted(breaking.items())
            ]
            + (
                [
                    f"{', '.join(unchecked)} changed after gate run {verdict.gate_run_id} checked "
                    f"{'them' if len(unchecked) > 1 else 'it'}: validate the month again"
                ]
                if unchecked
                else []
            )
        )
        reason = "; ".join(reasons) or None
        results = {"failed": verdict.failed, "warned": verdict.warned, "held_back": held_back, "flagged": flagged}
        (publication_id,) = conn.execute(
            """insert into dq.publications (run_id, month_start, status, marts, held_back, source_files,
                   rule_results, rules_passed, rules_failed, rules_warned, reason, flagged, gate_run_id, try_number)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning publication_id""",
            [
                run_id,
                verdict.month,
                status,
                released,
                held,
                Jsonb(_source_files(conn, verdict.month)),
                Jsonb(results),
                len(verdict.passed),
                len(verdict.failed),
                len(verdict.warned),
                reason,
                Jsonb(flagged),
                verdict.gate_run_id,
                try_number,
            ],
        ).fetchone() or (0,)
        lock_up_front(conn, _gaining_columns(conn, released))  # before any mart is touched: see lock_up_front
        for number, mart in enumerate(released):
            _publish_mart(conn, mart, verdict.month, int(publication_id))
            if number == 0:
                faults.point("publish:mart")  # a test kills the process here, mid-transaction
    return Publication(int(publication_id), status, released, held)
