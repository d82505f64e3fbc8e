"""Probe publications for tests of publication itself (comments, grants, column changes, exports).

``gate.publish`` publishes only what a gate run read, so a probe needs a gate run: this one runs no rule
and records the candidates as they are. Never used by the pipeline."""

from __future__ import annotations

import datetime as dt

from psycopg import Connection
from psycopg.types.json import Jsonb

from include.gate.gate import Verdict, candidate_checksums


def ruleless_verdict(conn: Connection, month: dt.date, run_id: str) -> Verdict:
    """The verdict of a gate run of ``month`` that checked nothing (every candidate as it is now)."""
    (gate_run_id,) = conn.execute(
        """insert into dq.gate_runs (run_id, month_start, candidate_checksums) values (%s, %s, %s)
           returning gate_run_id""",
        [run_id, month, Jsonb(candidate_checksums(conn, month))],
    ).fetchone() or (0,)
    return Verdict(month, [], [], [], gate_run_id=gate_run_id)
