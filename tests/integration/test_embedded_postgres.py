"""The embedded server: the wheel's binaries work (pip alone suffices), and make psql connects."""

from __future__ import annotations

import os
import subprocess

import psycopg
import pytest

from include import config
from include.warehouse import embedded

pytestmark = pytest.mark.integration


def test_wheel_binaries_start_a_server_even_where_system_binaries_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("SQW_PG_SOURCE", "wheel")
    monkeypatch.delenv("SQW_PG_BIN", raising=False)
    wheel = embedded.wheel_bindir()
    assert wheel is not None, "the pgserver wheel is in requirements.txt"
    pgdata = tmp_path / "wheel" / "pgdata"
    server = embedded.start(pgdata)
    try:
        assert server.bindir == wheel
        url = f"postgresql://postgres:{embedded.superuser_password()}@127.0.0.1:{server.port}/postgres"
        with psycopg.connect(url) as conn:
            version = conn.execute("show server_version").fetchone()[0]
            listen = conn.execute("show listen_addresses").fetchone()[0]
        assert version.startswith("16.")
        assert listen == "127.0.0.1"
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(f"postgresql://postgres:wrong@127.0.0.1:{server.port}/postgres").close()
    finally:
        assert embedded.stop(pgdata)


def test_make_psql_runs_a_query_as_the_bi_role(warehouse):
    result = subprocess.run(
        ["make", "--no-print-directory", "psql", "ARGS=-At -c 'select current_user'"],
        cwd=config.PROJECT_ROOT,
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == config.ROLE_BI


def test_make_psql_as_auditor_can_read_quality_history_but_bi_cannot(warehouse):
    query = "ARGS=-At -c 'select count(*) from dq.rule_runs'"
    auditor = subprocess.run(
        ["make", "--no-print-directory", "psql", "ROLE=auditor", query],
        cwd=config.PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    bi = subprocess.run(
        ["make", "--no-print-directory", "psql", query],
        cwd=config.PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert auditor.returncode == 0, auditor.stderr
    assert bi.returncode != 0 and "permission denied" in bi.stderr
