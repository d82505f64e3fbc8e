"""Bring the warehouse to a usable state: server, database, roles, schemas, tables. Idempotent."""

from __future__ import annotations

import psycopg

from include.gate.gate import ensure_dq_schema
from include.ingest.ddl import ensure_raw_schema
from include.warehouse.bootstrap import bootstrap
from include.warehouse.connection import Server, server


def ensure_ready() -> Server:
    """Start (or find) the server and create everything the pipeline writes into."""
    found = server()
    bootstrap(found)
    with psycopg.connect(found.url("loader")) as conn:
        ensure_raw_schema(conn)
    with psycopg.connect(found.url("transformer")) as conn:
        ensure_dq_schema(conn)
    return found
