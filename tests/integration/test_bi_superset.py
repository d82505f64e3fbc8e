"""Apache Superset over the published marts, set up by the code behind ``make bi`` (include/bi).

December published (run here when an earlier test has not), then Superset installed in its own venv,
initialised, started on 127.0.0.1 and provisioned from bi/. Through Superset's API the league table
chart's saved query must return exactly the published mart's rows, read back as the BI role; a second
provisioning must update, not duplicate; and headless Chromium, logged in, must show the dashboard with
the Chinese column names drawn by a CJK font (CDP ``CSS.getPlatformFontsForNode``), not as boxes.
Each stage's seconds are printed at the end of the module and kept in <state>/logs/bi-superset-timings.json.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql

DECEMBER = dt.date(2021, 12, 1)
LEAGUE = "mart_microcredit_league"
pytestmark = pytest.mark.integration
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def report_timings(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    from include import config

    path = config.STATE_DIR / "logs" / "bi-superset-timings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(TIMINGS, indent=1))
    line = "superset timings (s): " + ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in TIMINGS.items())
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\n{line}  ({path})", flush=True)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    from include.bi.provision import SPEC

    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def league_chart(spec: dict[str, Any]) -> dict[str, Any]:
    return next(chart for chart in spec["charts"] if chart["dataset"] == LEAGUE)


def _league_rows(warehouse: Any, month: dt.date) -> int:
    """December's rows of the published league table (none before the first month is published)."""
    with psycopg.connect(warehouse.url("bi")) as conn:
        if not conn.execute("select to_regclass(%s)", [f"marts.{LEAGUE}"]).fetchone()[0]:  # type: ignore[index]
            return 0
        query = sql.SQL("select count(*) from {}.{} where month_start = %s").format(
            sql.Identifier("marts"), sql.Identifier(LEAGUE)
        )
        return int(conn.execute(query, [month]).fetchone()[0])  # type: ignore[index]


@pytest.fixture(scope="module")
def december(warehouse: Any, run_dag: Any) -> None:
    """December's league table published (an earlier test module usually did it already)."""
    if not _league_rows(warehouse, DECEMBER):
        started = time.monotonic()
        state = run_dag(DECEMBER)
        TIMINGS["publish December"] = time.monotonic() - started
        assert _league_rows(warehouse, DECEMBER), f"December's run ({state}) did not publish {LEAGUE}"


@pytest.fixture(scope="module")
def superset(december: None, warehouse: Any) -> Iterator[Any]:
    from include.bi import superset

    try:
        found = superset.ensure(warehouse)
        TIMINGS.update(found.timings)
        yield found
    finally:
        superset.stop()


@pytest.fixture(scope="module")
def api(superset: Any) -> Any:
    from include.bi.provision import Api
    from include.bi.superset import ADMIN_USER, admin_password

    return Api(superset.url, ADMIN_USER, admin_password())


def _by_name(api: Any, resource: str, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in api.listing(resource)}


def _value(value: Any, column: str, temporal: set[str]) -> Any:
    """A cell as both sides can compare it: Superset sends dates as epoch milliseconds, numbers as floats."""
    if column in temporal and value is not None:
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC).date()
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return float(value)
    return value


def test_league_chart_returns_the_published_rows(api: Any, warehouse: Any, league_chart: dict[str, Any]) -> None:
    """The chart's own saved query, run by Superset as the BI role, gives the mart's rows, in the chart's order."""
    chart = _by_name(api, "chart", "slice_name")[league_chart["title"]]
    started = time.monotonic()
    answer = api.get(f"/api/v1/chart/{chart['id']}/data/?format=json&type=full&force=true")
    TIMINGS["query"] = time.monotonic() - started
    result = answer["result"][0]
    columns = league_chart["columns"]
    assert result["colnames"] == columns

    order = [term.split() for term in league_chart["order_by"]]
    query = sql.SQL("select {} from {}.{} order by {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.Identifier("marts"),
        sql.Identifier(LEAGUE),
        sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL("desc" if rest == ["desc"] else "asc"))
            for name, *rest in order
        ),
    )
    with psycopg.connect(warehouse.url("bi")) as conn:
        published = conn.execute(query).fetchall()
        months = {row[0] for row in conn.execute(f"select distinct month_start from marts.{LEAGUE}")}

    dates = {name for name, kind in zip(columns, result["coltypes"], strict=True) if kind == 2}  # GenericDataType
    assert "month_start" in dates
    got = [tuple(_value(row[name], name, dates) for name in columns) for row in result["data"]]
    expected = [
        tuple(_value(value, name, set()) for name, value in zip(columns, row, strict=True)) for row in published
    ]
    assert DECEMBER in months and DECEMBER in {row[0] for row in got}
    assert result["rowcount"] == len(expected)
    assert got == expected


def test_datasets_cover_the_marts_with_chinese_names(api: Any, superset: Any, warehouse: Any) -> None:
    from include import config
    from include.bi.provision import chinese_name, documented_columns

    with psycopg.connect(warehouse.url("bi")) as conn:
        tables = {row[0] for row in conn.execute("select tablename from pg_tables where schemaname = 'marts'")}
    datasets = {row["table_name"]: row for row in api.listing("dataset") if row["schema"] == "marts"}
    assert set(datasets) == tables

    docs = documented_columns(config.DBT_MANIFEST)
    league = api.get(f"/api/v1/dataset/{datasets[LEAGUE]['id']}")["result"]
    names = {column["column_name"]: column["verbose_name"] for column in league["columns"]}
    assert names == {column: chinese_name(docs[LEAGUE][1].get(column, "")) for column in names}
    assert names["county_name"] and all("\u4e00" <= ch <= "\u9fff" or ch in "（）、" for ch in names["county_name"])


def test_provisioning_again_updates_and_never_duplicates(api: Any, superset: Any, warehouse: Any) -> None:
    from include.bi.provision import provision

    before = {resource: len(api.listing(resource)) for resource in ("database", "dataset", "chart", "dashboard")}
    again = provision(api, warehouse.url("bi", driver="postgresql+psycopg2"))
    after = {resource: len(api.listing(resource)) for resource in ("database", "dataset", "chart", "dashboard")}
    assert after == before
    assert before["database"] == 1 and before["dashboard"] == 1 and before["chart"] == len(again.charts)


def _cjk_families() -> set[str]:
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=True).stdout
    return {family.strip() for line in out.splitlines() for family in line.split(",") if family.strip()}


def test_dashboard_shows_the_league_table_in_chinese(
    api: Any, superset: Any, league_chart: dict[str, Any], chromium: str, tmp_path: Path
) -> None:
    """Chromium, logged in, draws the league table's Chinese headers with a CJK font: glyphs, not boxes."""
    from include.bi import superset as bi
    from include.deploy import packages

    datasets = _by_name(api, "dataset", "table_name")
    columns = api.get(f"/api/v1/dataset/{datasets[LEAGUE]['id']}")["result"]["columns"]
    label = {column["column_name"]: column["verbose_name"] for column in columns}
    probe = label["county_name"]
    png = tmp_path / "dashboard.png"
    job = {
        "url": superset.url,
        "dashboard": superset.dashboard,
        "user": bi.ADMIN_USER,
        "password": bi.admin_password(),
        "chromium": chromium,
        "flags": list(packages.CHROMIUM_FLAGS),
        "png": str(png),
        "header": probe,
    }
    started = time.monotonic()
    script = Path(bi.__file__).with_name("screenshot.py")
    done = subprocess.run(
        [str(bi.python()), str(script)], input=json.dumps(job), capture_output=True, text=True, timeout=300, check=False
    )
    TIMINGS["screenshot"] = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    shot = json.loads(done.stdout)

    assert {label[name] for name in league_chart["columns"]} <= set(shot["headers"]), shot["headers"]
    drawn = {font["familyName"] for font in shot["fonts"] if font["glyphCount"] > 0}
    assert drawn, f"no font reported for the header {probe!r}"
    assert drawn <= _cjk_families(), f"{probe!r} drawn with {drawn}, not only fonts that cover Chinese"
    assert shot["outside"] == [], "the dashboard asked for something beyond this Superset"
    assert png.stat().st_size > 50_000 and shot["png"]["width"] >= 1600 and shot["png"]["colours"] > 50, shot["png"]
