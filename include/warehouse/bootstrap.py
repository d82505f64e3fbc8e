"""Create the warehouse database, its roles, schemas and grants. Idempotent.

| role        | may                                                              |
|-------------|------------------------------------------------------------------|
| loader      | write ``raw`` and ``ops`` (loads, lineage, findings)              |
| transformer | read ``raw``/``ops``; build staging, core, candidate; publish     |
| bi          | read ``marts`` only                                              |
| auditor     | read ``marts``, ``dq`` (check history), ``ops`` (loads), ``core``   |
|             | and ``staging`` (pseudonymised keys only), and the lineage columns |
|             | of ``raw`` (granted per table by ``include.ingest.ddl``): enough   |
|             | to trace a published figure to its source rows (``make explain``) |
"""

from __future__ import annotations

import logging

from psycopg import sql

from include import config
from include.warehouse.connection import Server, role_password

log = logging.getLogger(__name__)

OWNERS = {
    config.SCHEMA_RAW: config.ROLE_LOADER,
    config.SCHEMA_OPS: config.ROLE_LOADER,
    config.SCHEMA_STAGING: config.ROLE_TRANSFORMER,
    config.SCHEMA_CORE: config.ROLE_TRANSFORMER,
    config.SCHEMA_CANDIDATE: config.ROLE_TRANSFORMER,
    config.SCHEMA_GATE: config.ROLE_TRANSFORMER,
    config.SCHEMA_PUBLISHED: config.ROLE_TRANSFORMER,
    config.SCHEMA_DQ: config.ROLE_TRANSFORMER,
}
READERS = {
    config.SCHEMA_RAW: [config.ROLE_TRANSFORMER],
    config.SCHEMA_OPS: [config.ROLE_TRANSFORMER, config.ROLE_AUDITOR],
    config.SCHEMA_STAGING: [config.ROLE_AUDITOR],
    config.SCHEMA_CORE: [config.ROLE_AUDITOR],
    config.SCHEMA_PUBLISHED: [config.ROLE_BI, config.ROLE_AUDITOR],
    config.SCHEMA_DQ: [config.ROLE_AUDITOR],
}
# Usage only: the auditor reads raw's lineage columns, which ddl.py grants table by table.
USAGE_ONLY = {config.SCHEMA_RAW: [config.ROLE_AUDITOR]}
# Lock settings per role, defence in depth beside the pipeline's lock order (issue 11: readers during a run).
# PostgreSQL breaks a lock cycle in the session whose deadlock_timeout expires first: a reader's expires long
# before the pipeline's, and a reader never queues for long behind the pipeline (lock_timeout): it gets the
# error and retries, the month's run goes on. deadlock_timeout is a superuser setting (see role_settings).
READER_LOCKS = {"deadlock_timeout": "100ms", "lock_timeout": "5s"}
PIPELINE_LOCKS = {"deadlock_timeout": "10s"}
ROLE_SETTINGS = {
    config.ROLE_BI: READER_LOCKS,
    config.ROLE_AUDITOR: READER_LOCKS,
    config.ROLE_LOADER: PIPELINE_LOCKS,
    config.ROLE_TRANSFORMER: PIPELINE_LOCKS,
}


def ensure_database(server: Server) -> None:
    """Create the warehouse database when the server is ours and it is missing."""
    import psycopg  # noqa: PLC0415

    if not server.embedded:
        return
    maintenance = server.url("admin").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [server.database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {} encoding 'UTF8'").format(sql.Identifier(server.database)))


def ensure_roles_and_schemas(server: Server) -> None:
    """Create login roles (with their passwords), schemas, ownership and grants."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(server.url("admin"), autocommit=True) as conn:
        for key, role in config.ROLES.items():
            if key == "admin":
                continue
            ident = sql.Identifier(role)
            exists = conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
            verb = sql.SQL("alter") if exists else sql.SQL("create")
            conn.execute(sql.SQL("{} role {} login password {}").format(verb, ident, sql.Literal(role_password(key))))
        db = sql.Identifier(server.database)
        conn.execute(sql.SQL("revoke all on database {} from public").format(db))
        conn.execute(sql.SQL("revoke create on schema public from public"))
        for key, role in config.ROLES.items():
            if key != "admin":
                conn.execute(sql.SQL("grant connect on database {} to {}").format(db, sql.Identifier(role)))
        conn.execute(
            sql.SQL("grant create, temporary on database {} to {}").format(db, sql.Identifier(config.ROLE_TRANSFORMER))
        )
        for schema, owner in OWNERS.items():
            conn.execute(
                sql.SQL("create schema if not exists {} authorization {}").format(
                    sql.Identifier(schema), sql.Identifier(owner)
                )
            )
            conn.execute(sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), sql.Identifier(owner)))
        for schema, readers in USAGE_ONLY.items():
            for reader in readers:
                conn.execute(
                    sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema), sql.Identifier(reader))
                )
        for schema, readers in READERS.items():
            for reader in readers:
                args = {"s": sql.Identifier(schema), "r": sql.Identifier(reader), "o": sql.Identifier(OWNERS[schema])}
                conn.execute(sql.SQL("grant usage on schema {s} to {r}").format(**args))
                conn.execute(sql.SQL("grant select on all tables in schema {s} to {r}").format(**args))
                conn.execute(
                    sql.SQL("alter default privileges for role {o} in schema {s} grant select on tables to {r}").format(
                        **args
                    )
                )


def ensure_role_settings(server: Server) -> None:
    """``ROLE_SETTINGS`` as each role's defaults (``alter role … in database … set``), for new sessions.

    Settings only a superuser may set (``deadlock_timeout``) are skipped, with a logged note, when the admin
    URL's role is not one (a managed server): the readers then keep their lock_timeout only."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(server.url("admin"), autocommit=True) as conn:
        (superuser,) = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone() or (False,)
        for role, settings in ROLE_SETTINGS.items():
            for name, value in settings.items():
                (context,) = conn.execute("select context from pg_settings where name = %s", [name]).fetchone() or ("",)
                if context == "superuser" and not superuser:
                    log.warning("%s: %s = %s not set: the admin role is not a superuser", role, name, value)
                    continue
                conn.execute(
                    sql.SQL("alter role {} in database {} set {} = {}").format(
                        sql.Identifier(role), sql.Identifier(server.database), sql.Identifier(name), sql.Literal(value)
                    )
                )


def bootstrap(server: Server) -> None:
    ensure_database(server)
    ensure_roles_and_schemas(server)
    ensure_role_settings(server)
