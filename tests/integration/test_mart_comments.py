"""What BI users see of the published marts: comments that carry each mart's and column's Chinese name and 口径,
and a publication that never silently breaks what they saved.

The comments are read back as the read-only BI role, from the catalogue, after a real December run
(Airflow, dbt with persist_docs, the gate's publication). The column changes are made on a probe mart in the
candidate schema and published through the gate's own ``publish``.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import psycopg
import pytest

from include import config
from include.gate.gate import SCHEMA_CHANGE, publish
from tests.gate_probe import ruleless_verdict

pytestmark = pytest.mark.integration
DECEMBER = dt.date(2021, 12, 1)
CHINESE = re.compile(r"[\u4e00-\u9fff]")
LEADS = re.compile(r"\s*[\u4e00-\u9fff]")  # a comment starts with the column's Chinese name
PROBE = "mart_zz_comment_probe"


@pytest.fixture(scope="module")
def published(run_dag, warehouse) -> None:
    """December published by a real run (an earlier test's, or this one's)."""
    with psycopg.connect(warehouse.url("auditor")) as conn:
        (done,) = conn.execute(
            "select count(*) from dq.publications where month_start = %s and status <> 'held_back'", [DECEMBER]
        ).fetchone()
    if not done:
        assert run_dag(DECEMBER) == "success"


def _comments(conn: psycopg.Connection, schema: str) -> dict[str, tuple[str | None, dict[str, str | None]]]:
    """Every table of a schema: its comment, and each column's."""
    tables = conn.execute(
        """select c.oid, c.relname, obj_description(c.oid, 'pg_class') from pg_class c
           join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relkind in ('r', 'p')
           and not c.relispartition""",
        [schema],
    ).fetchall()
    out = {}
    for oid, name, comment in tables:
        columns = conn.execute(
            """select attname, col_description(attrelid, attnum) from pg_attribute
               where attrelid = %s and attnum > 0 and not attisdropped order by attnum""",
            [oid],
        ).fetchall()
        out[name] = (comment, dict(columns))
    return out


def test_every_published_mart_and_column_has_a_chinese_comment(published, warehouse) -> None:
    with psycopg.connect(warehouse.url("bi")) as conn:
        marts = _comments(conn, config.SCHEMA_PUBLISHED)
    models = {
        node["name"]
        for node in json.loads(config.DBT_MANIFEST.read_text())["nodes"].values()
        if node["resource_type"] == "model" and node["path"].startswith("marts")
    }
    assert models <= set(marts), f"published marts missing: {models - set(marts)}"
    bare = [name for name, (comment, _) in marts.items() if not comment or not CHINESE.search(comment.split("\n")[0])]
    assert not bare, f"marts without a table comment that starts with their Chinese name: {bare}"
    uncommented = [f"{mart}.{column}" for mart, (_, cols) in marts.items() for column, text in cols.items() if not text]
    total = sum(len(cols) for _, cols in marts.values())
    print(f"column comments: {total - len(uncommented)} of {total} published columns, {len(marts)} marts")
    assert not uncommented, f"columns without a comment: {uncommented}"
    no_name = [f"{m}.{c}" for m, (_, cols) in marts.items() for c, text in cols.items() if not LEADS.match(text)]
    assert not no_name, f"column comments that do not start with their Chinese name: {no_name}"


def test_published_comments_are_the_dbt_documentation(published, warehouse) -> None:
    """The comment BI reads is the description dbt documents (one definition), not a copy that can drift."""
    manifest = json.loads(config.DBT_MANIFEST.read_text())
    with psycopg.connect(warehouse.url("bi")) as conn:
        marts = _comments(conn, config.SCHEMA_PUBLISHED)
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or not node["path"].startswith("marts"):
            continue
        _, columns = marts[node["name"]]
        for name, doc in node["columns"].items():
            assert (columns[name] or "").strip() == doc["description"].strip(), (node["name"], name)


@pytest.fixture
def probe(warehouse):
    """A small mart in the candidate schema, with comments; dropped everywhere afterwards."""
    admin = psycopg.connect(warehouse.url("admin"), autocommit=True)
    transformer = psycopg.connect(warehouse.url("transformer"), autocommit=True)

    def drop() -> None:
        for name in (PROBE, PROBE + "_v2"):
            admin.execute(f"drop table if exists candidate.{name}, marts.{name}, dq.{name}__history cascade")
            admin.execute(f"drop function if exists dq.{name}_as_of")

    drop()
    transformer.execute(
        f"""create table candidate.{PROBE} (month_start date, county_code text, value integer);
            comment on table candidate.{PROBE} is '探针 — a probe mart';
            comment on column candidate.{PROBE}.month_start is '统计月份';
            comment on column candidate.{PROBE}.county_code is '县代码';
            comment on column candidate.{PROBE}.value is '数值'"""
    )
    yield transformer
    drop()
    admin.close()
    transformer.close()


def _publish(conn: psycopg.Connection, month: dt.date):
    return publish(conn, ruleless_verdict(conn, month, f"probe {month}"), f"probe {month}")


def test_a_new_column_is_added_in_place_and_a_breaking_change_waits_for_a_new_version(probe, warehouse) -> None:
    january, february, march = dt.date(2020, 1, 1), dt.date(2020, 2, 1), dt.date(2020, 3, 1)
    probe.execute(f"insert into candidate.{PROBE} values (%s, '411402', 1), (%s, '411421', 2)", [january, january])
    assert PROBE in _publish(probe, january).released
    (before,) = probe.execute("select now()").fetchone()
    saved_query = f"select month_start, county_code, value from marts.{PROBE} order by 1, 2"  # what BI saved
    bi = psycopg.connect(warehouse.url("bi"), autocommit=True)
    first = [(january, "411402", 1), (january, "411421", 2)]
    assert bi.execute(saved_query).fetchall() == first

    # A column is added: it is added in place, January stays, BI's query and grants keep working.
    probe.execute(f"alter table candidate.{PROBE} add column share numeric")
    probe.execute(f"comment on column candidate.{PROBE}.share is '占比'")
    probe.execute(f"insert into candidate.{PROBE} values (%s, '411402', 3, 0.5)", [february])
    assert PROBE in _publish(probe, february).released
    assert bi.execute(saved_query).fetchall() == [*first, (february, "411402", 3)]
    assert bi.execute(f"select share from marts.{PROBE} where month_start = %s", [february]).fetchone() == (0.5,)
    assert bi.execute(f"select col_description('marts.{PROBE}'::regclass, 4)").fetchone() == ("占比",)
    auditor = psycopg.connect(warehouse.url("auditor"), autocommit=True)
    old = auditor.execute(f"select month_start, value from dq.{PROBE}_as_of(%s) order by 1, 2", [before]).fetchall()
    assert old == [(january, 1), (january, 2)], "as published before the change"

    # A column is retyped: publishing would break BI, so the mart is held until it comes as a new version.
    probe.execute(f"alter table candidate.{PROBE} alter column value type text")
    probe.execute(f"insert into candidate.{PROBE} values (%s, '411402', 'x', 0.1)", [march])
    publication = _publish(probe, march)
    assert PROBE in publication.held and PROBE not in publication.released
    (reason, held) = auditor.execute(
        "select reason, rule_results -> 'held_back' -> %s from dq.publications where publication_id = %s",
        [PROBE, publication.publication_id],
    ).fetchone()
    assert f"{PROBE}_v2" in reason and "value integer" in reason and held == [SCHEMA_CHANGE]
    assert bi.execute(saved_query).fetchall() == [*first, (february, "411402", 3)]
    type_of_value = f"""select format_type(atttypid, atttypmod) from pg_attribute
        where attrelid = 'marts.{PROBE}'::regclass"""
    assert bi.execute(type_of_value + " and attname = 'value'").fetchone() == ("integer",)

    # The new version publishes beside the old one, which keeps its rows and history.
    probe.execute(f"create table candidate.{PROBE}_v2 as select * from candidate.{PROBE}")
    probe.execute(f"comment on table candidate.{PROBE}_v2 is '探针 第2版 — value as text'")
    probe.execute(f"drop table candidate.{PROBE}")
    assert f"{PROBE}_v2" in _publish(probe, march).released
    assert bi.execute(f"select value from marts.{PROBE}_v2 where month_start = %s", [march]).fetchall() == [("x",)]
    assert len(bi.execute(saved_query).fetchall()) == 3
    bi.close()
    auditor.close()
