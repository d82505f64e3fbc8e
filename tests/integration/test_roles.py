"""Every role may do what bootstrap.py says and nothing more, proven statement by statement on real PostgreSQL.

After a real December run (published marts), right after a probe mart is published through the gate's own
``publish`` and again after that mart gains a column in place:

- BI reads every table of ``marts`` and nothing in any other schema, and no marts column is a person-level key
  (by name: the pseudonymised ``*_key`` columns the contracts and the staging/core catalog carry; by content: no
  marts value is a pseudonym of ``core.dim_person`` or ``core.dim_household``);
- the auditor reads ``marts``, ``dq`` and ``ops`` and runs ``make explain``'s queries, and every write
  (insert, update, delete, truncate, create, drop, alter) in every schema is denied;
- the loader can neither read nor change nor drop any marts table.

Relations are enumerated from the catalog, so a new mart, history table or view is covered without a list here.
A statement counts as denied only when PostgreSQL answers insufficient_privilege (42501); every statement runs in
a transaction that is rolled back, so even a write that wrongly succeeds leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import errors, sql

from include import config
from include.gate.gate import publish
from tests.gate_probe import ruleless_verdict

pytestmark = pytest.mark.integration
DECEMBER = dt.date(2021, 12, 1)
PROBE = "mart_zz_role_probe"
SCHEMAS = ("raw", "ops", "staging", "core", "candidate", "gate", "marts", "dq", "public")
KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "f": "foreign table"}
PERSON_KEY = re.compile(r"(_key|_hmac|_hash|pseudonym)$")  # the loader's resident-ID pseudonyms end so
# Person-level keys the auditor reads as a tracing aid in staging/core; never in marts.
DIMENSIONS = {("core", "dim_person"): "person_key", ("core", "dim_household"): "household_key"}


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    kind: str  # table | view | materialized view | foreign table
    column: str

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def relations(admin: psycopg.Connection, schemas: tuple[str, ...] = SCHEMAS) -> list[Relation]:
    rows = admin.execute(
        """select n.nspname, c.relname, c.relkind,
                  (select attname from pg_attribute where attrelid = c.oid and attnum > 0 and not attisdropped
                   order by attnum limit 1)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = any(%s) and c.relkind = any(%s) order by 1, 2""",
        [list(schemas), list(KINDS)],
    ).fetchall()
    return [Relation(schema, name, KINDS[kind], column) for schema, name, kind, column in rows]


def outcome(conn: psycopg.Connection, statement: sql.Composable) -> str:
    """'ok', 'denied' (insufficient_privilege) or the other error's SQLSTATE; always rolled back."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement)
    except errors.InsufficientPrivilege:
        return "denied"
    except psycopg.Error as error:
        return f"error {error.sqlstate}: {str(error).splitlines()[0]}"
    return "ok"


def select(relation: Relation) -> sql.Composable:
    return sql.SQL("select * from {} limit 1").format(relation.ident)


def writes(relation: Relation) -> dict[str, sql.Composable]:
    """Every kind of write on one relation (views: those a view has)."""
    kind, target = sql.SQL(relation.kind), relation.ident
    out = {
        "drop": sql.SQL("drop {} {}").format(kind, target),
        "alter": sql.SQL("alter {} {} rename to zz_renamed_by_a_role_test").format(kind, target),
    }
    if relation.kind in ("table", "view"):
        column = sql.Identifier(relation.column)
        out |= {
            "insert": sql.SQL("insert into {} select * from {} where false").format(target, target),
            "update": sql.SQL("update {} set {} = {} where false").format(target, column, column),
            "delete": sql.SQL("delete from {} where false").format(target),
        }
    if relation.kind == "table":
        out["truncate"] = sql.SQL("truncate {}").format(target)
    return out


def creates(schema: str) -> dict[str, sql.Composable]:
    where = sql.Identifier(schema, "zz_created_by_a_role_test")
    return {
        "create table": sql.SQL("create table {} (x int)").format(where),
        "create view": sql.SQL("create view {} as select 1 as x").format(where),
        "create function": sql.SQL("create function {}() returns int language sql as 'select 1'").format(where),
    }


def _views_write(admin: psycopg.Connection, role: str, relation: Relation, verb: str) -> str:
    """A view that is not updatable refuses a write before privileges are checked: ask the catalog instead."""
    (allowed,) = admin.execute(
        "select has_table_privilege(%s, %s::regclass, %s)", [role, f'"{relation.schema}"."{relation.name}"', verb]
    ).fetchone() or (True,)
    return "ok" if allowed else "denied"


def denied_writes(conn: psycopg.Connection, admin: psycopg.Connection, schemas: tuple[str, ...]) -> list[str]:
    """Every write the role could do in ``schemas`` (an empty list: all denied)."""
    allowed = []
    for relation in relations(admin, schemas):
        for verb, statement in writes(relation).items():
            if relation.kind == "view" and verb in ("insert", "update", "delete"):
                got = _views_write(admin, conn.info.user, relation, verb)
            else:
                got = outcome(conn, statement)
            if got != "denied":
                allowed.append(f"{verb} {relation}: {got}")
    for schema in schemas:
        for verb, statement in creates(schema).items():
            if (got := outcome(conn, statement)) != "denied":
                allowed.append(f"{verb} in {schema}: {got}")
    return allowed


def person_level_columns(admin: psycopg.Connection) -> list[str]:
    """marts columns that are a person-level key, by name or by content."""
    from include.ingest.contract import contracts

    contract_keys = {
        name
        for contract in contracts().values()
        for section in contract.sections
        for column in section.columns
        if column.type == "resident_id"
        for name in column.raw_columns()
        if PERSON_KEY.search(name)
    }
    upstream_keys = {
        name
        for (name,) in admin.execute(
            """select distinct column_name from information_schema.columns
               where table_schema in ('raw', 'staging', 'core') and column_name ~ %s""",
            [PERSON_KEY.pattern],
        ).fetchall()
    }
    assert {"borrower_id_key", "person_key", "household_key"} <= contract_keys | upstream_keys
    found = []
    for relation in relations(admin, (config.SCHEMA_PUBLISHED,)):
        columns = admin.execute(
            "select column_name, data_type from information_schema.columns where table_schema = %s and table_name = %s",
            [relation.schema, relation.name],
        ).fetchall()
        for name, kind in columns:
            if name in contract_keys | upstream_keys or PERSON_KEY.search(name):
                found.append(f"{relation}.{name}: named as a person-level key")
            if kind not in ("text", "character varying"):
                continue
            for (schema, table), key in DIMENSIONS.items():
                (shared,) = admin.execute(
                    sql.SQL("select count(*) from {} where {} in (select {} from {})").format(
                        relation.ident, sql.Identifier(name), sql.Identifier(key), sql.Identifier(schema, table)
                    )
                ).fetchone() or (0,)
                if shared:
                    found.append(f"{relation}.{name}: {shared} values are {schema}.{table}.{key} pseudonyms")
    return found


@pytest.fixture(scope="module")
def published(december_published) -> None:
    """December published by a real DAG run (tests/conftest.py)."""


def _publish(transformer: psycopg.Connection, month: dt.date) -> None:
    run_id = f"role probe {month}"
    assert PROBE in publish(transformer, ruleless_verdict(transformer, month, run_id), run_id).released


@pytest.fixture
def probe(warehouse, published) -> Iterator[psycopg.Connection]:
    """A small candidate mart (as the transformer builds one) with January 2020 published through the gate's
    ``publish``; dropped everywhere afterwards."""
    admin = psycopg.connect(warehouse.url("admin"), autocommit=True)
    transformer = psycopg.connect(warehouse.url("transformer"), autocommit=True)

    def drop() -> None:
        names = [sql.Identifier(s, PROBE) for s in (config.SCHEMA_CANDIDATE, config.SCHEMA_PUBLISHED)]
        history = sql.Identifier(config.SCHEMA_DQ, PROBE + "__history")
        admin.execute(sql.SQL("drop table if exists {}, {}, {} cascade").format(*names, history))
        admin.execute(sql.SQL("drop function if exists {}").format(sql.Identifier(config.SCHEMA_DQ, PROBE + "_as_of")))

    drop()
    transformer.execute(
        sql.SQL("create table {} (month_start date, county_code text, value integer)").format(
            sql.Identifier(config.SCHEMA_CANDIDATE, PROBE)
        )
    )
    transformer.execute(
        sql.SQL("insert into {} values ('2020-01-01', '411402', 1)").format(
            sql.Identifier(config.SCHEMA_CANDIDATE, PROBE)
        )
    )
    _publish(transformer, dt.date(2020, 1, 1))
    yield transformer
    drop()
    admin.close()
    transformer.close()


@pytest.fixture
def roles(connect) -> dict[str, psycopg.Connection]:
    conns = {role: connect(role) for role in ("admin", "bi", "auditor", "loader")}
    for conn in conns.values():
        conn.execute("set lock_timeout = '5s'")
    return conns


def prove_roles(roles: dict[str, psycopg.Connection]) -> dict[str, int]:
    """Assert every role's rights; returns how many relations each check covered."""
    admin, bi, auditor, loader = roles["admin"], roles["bi"], roles["auditor"], roles["loader"]
    everything = relations(admin)
    marts = [r for r in everything if r.schema == config.SCHEMA_PUBLISHED]
    assert PROBE in {r.name for r in marts}

    # BI: every marts table, nothing else; no write anywhere; no person-level key.
    problems = [f"bi cannot read {r}: {got}" for r in marts if (got := outcome(bi, select(r))) != "ok"]
    others = [r for r in everything if r.schema != config.SCHEMA_PUBLISHED]
    problems += [f"bi reads {r}: {got}" for r in others if (got := outcome(bi, select(r))) != "denied"]
    problems += [f"bi may {w}" for w in denied_writes(bi, admin, SCHEMAS)]
    problems += person_level_columns(admin)

    # Auditor: marts, dq and ops readable (and dq's as-of functions callable); nothing writable.
    readable = [r for r in everything if r.schema in (config.SCHEMA_PUBLISHED, config.SCHEMA_DQ, config.SCHEMA_OPS)]
    problems += [f"auditor cannot read {r}: {got}" for r in readable if (got := outcome(auditor, select(r))) != "ok"]
    functions = auditor.execute(
        """select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where n.nspname = %s and p.proname like '%%\\_as\\_of'""",
        [config.SCHEMA_DQ],
    ).fetchall()
    assert PROBE + "_as_of" in {name for (name,) in functions}
    for (name,) in functions:
        call = sql.SQL("select * from {}(now()) limit 1").format(sql.Identifier(config.SCHEMA_DQ, name))
        if (got := outcome(auditor, call)) != "ok":
            problems.append(f"auditor cannot call dq.{name}: {got}")
    problems += [f"auditor may {w}" for w in denied_writes(auditor, admin, SCHEMAS)]
    if (got := outcome(auditor, sql.SQL("create schema zz_created_by_a_role_test"))) != "denied":
        problems.append(f"auditor may create a schema: {got}")

    # Loader: no marts table can be read, changed or dropped.
    for relation in marts:
        if (got := outcome(loader, select(relation))) != "denied":
            problems.append(f"loader may select {relation}: {got}")
    problems += [f"loader may {w}" for w in denied_writes(loader, admin, (config.SCHEMA_PUBLISHED,))]

    assert not problems, "\n".join(problems)
    return {"relations": len(everything), "marts": len(marts), "auditor_reads": len(readable)}


def test_roles_hold_after_a_publication(probe, roles) -> None:
    counted = prove_roles(roles)
    print(f"roles proven on {counted}")
    assert counted["marts"] > 5


def test_roles_hold_after_a_schema_change(probe, roles) -> None:
    """The probe mart gains a column and is published in place: the new column is as readable, and as closed."""
    candidate = sql.Identifier(config.SCHEMA_CANDIDATE, PROBE)
    probe.execute(sql.SQL("alter table {} add column share numeric").format(candidate))
    probe.execute(sql.SQL("insert into {} values ('2020-02-01', '411402', 2, 0.5)").format(candidate))
    _publish(probe, dt.date(2020, 2, 1))
    query = sql.SQL("select share from {} where month_start = '2020-02-01'").format(
        sql.Identifier(config.SCHEMA_PUBLISHED, PROBE)
    )
    assert roles["bi"].execute(query).fetchall() == [(0.5,)]
    assert roles["auditor"].execute(query).fetchall() == [(0.5,)]
    assert outcome(roles["loader"], query) == "denied"
    prove_roles(roles)


def test_explain_runs_as_the_read_only_auditor(published, roles) -> None:
    """``make explain``'s queries, as the CLI runs them: the auditor role in a read-only transaction."""
    from include.explain import explain, render

    auditor = roles["auditor"]
    auditor.autocommit = False
    auditor.read_only = True
    result = explain(auditor, "microcredit_league", "睢县", "2021-12", "balance_households")
    auditor.rollback()
    assert [c.relation for c in result.counts if c.error] == []
    assert result.counts and result.loads and result.rules and result.publications
    assert result.matches is True
    assert "sha256" in render(result)


def test_a_person_level_key_in_marts_is_found(probe, roles) -> None:
    """The key check can fail: a mart carrying household pseudonyms (under an innocent name too) is caught."""
    admin = roles["admin"]
    (pseudonym,) = admin.execute("select household_key from core.dim_household limit 1").fetchone() or (None,)
    assert pseudonym
    leak = sql.Identifier(config.SCHEMA_PUBLISHED, "mart_zz_role_leak")
    try:
        admin.execute(sql.SQL("create table {} (household_key text, label text)").format(leak))
        admin.execute(sql.SQL("insert into {} values (%s, %s)").format(leak), [pseudonym, pseudonym])
        found = person_level_columns(admin)
    finally:
        admin.execute(sql.SQL("drop table if exists {}").format(leak))
    assert any("mart_zz_role_leak.household_key: named" in f for f in found), found
    assert any("mart_zz_role_leak.label: 1 values are core.dim_household" in f for f in found), found
