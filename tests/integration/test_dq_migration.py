"""The gate's dq schema migrates additively and idempotently (``include/gate/schema.sql``), on real PostgreSQL.

A decision recorded before warnings were counted apart (``rules_failed`` counted them too) is split by the
rule ids its ``rule_results`` kept, the sum unchanged; one whose ``rule_results`` cannot tell keeps its count,
``rules_warned`` null; running the migration again changes nothing. Everything runs in a transaction that is
rolled back."""

from __future__ import annotations

import psycopg
import pytest

from include.gate.gate import ensure_dq_schema

pytestmark = pytest.mark.integration

OLD = """insert into dq.publications (run_id, month_start, status, marts, source_files, rules_passed, rules_failed,
             rule_results) values ('before issue 14', '1999-01-01', 'published', '{}', '[]', 30, %s, %s)"""


def test_earlier_decisions_are_split_into_failures_and_warnings_and_nothing_is_lost(warehouse):
    with psycopg.connect(warehouse.url("transformer")) as conn, conn.transaction(force_rollback=True):
        # as the gate wrote a decision before: rules_failed = fail rules + warn rules, no rules_warned
        conn.execute(OLD, [3, '{"failed": ["a"], "warned": ["b", "c"], "held_back": {}}'])
        conn.execute(OLD, [2, "{}"])
        read = "select rules_failed, rules_warned from dq.publications where run_id = 'before issue 14' order by 1"
        ensure_dq_schema(conn)
        migrated = conn.execute(read).fetchall()
        ensure_dq_schema(conn)
        assert conn.execute(read).fetchall() == migrated == [(1, 2), (2, None)]
