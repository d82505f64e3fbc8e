"""The distributed twin: the scheduler runs one full month through two Celery workers (Redis broker).

``make cluster``'s own code starts Redis, the api-server, scheduler, dag-processor, triggerer and two
Celery workers on loopback; the month is submitted as ``make run`` submits it (a backfill through the
REST API), not with ``dags test``. Then everything the test started is stopped.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

pytestmark = pytest.mark.integration
DECEMBER = dt.date(2021, 12, 1)


@pytest.fixture(scope="module")
def cluster(warehouse, landing) -> Any:
    from include.deploy import services

    started = time.monotonic()
    try:
        deployment = services.start("cluster", quiet=True)
        print(f"cluster up in {time.monotonic() - started:.0f} s")
        yield deployment
    finally:
        services.stop()
    assert services.running() is None


@pytest.fixture(scope="module")
def month_run(cluster) -> dict[str, Any]:
    from include.deploy import runner
    from include.deploy.api import Api

    api = Api(cluster)
    runner.wait_for_dag(api)
    since = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    runner.submit(api, [DECEMBER])
    seen: dict[str, Any] = {}

    def finished(month: dt.date, state: str, tis: list[dict[str, Any]], run: dict[str, Any]) -> None:
        seen.update(state=state, tis=tis, run=run, spent=runner.stage_seconds(tis, run))

    runner.follow(api, [DECEMBER], since, finished, say=lambda line: None)
    print(f"December through Celery: {time.monotonic() - started:.0f} s, {seen['spent']}")
    seen["events"] = api.get(
        "/assets/events", source_dag_id="shangqiu_monthly", source_run_id=seen["run"]["dag_run_id"]
    )
    return seen


def test_the_month_succeeds_and_its_tasks_ran_on_both_workers(month_run):
    assert month_run["state"] == "success"
    ran = [ti for ti in month_run["tis"] if ti["state"] == "success" and ti["operator"] != "EmptyOperator"]
    hostnames = {ti["hostname"] for ti in ran}
    assert hostnames == {"worker-1", "worker-2"}, hostnames
    assert {ti["executor"] or "CeleryExecutor" for ti in ran} == {"CeleryExecutor"}


def test_the_marts_were_published_by_that_run_and_announced_as_assets(month_run, connect):
    run_id = month_run["run"]["dag_run_id"]
    auditor = connect("auditor")
    status, marts = auditor.execute(
        "select status, marts from dq.publications where run_id = %s order by publication_id desc limit 1", [run_id]
    ).fetchone()
    assert status == "published" and "mart_microcredit_league" in marts
    bi = connect("bi")
    (rows,) = bi.execute(
        "select count(*) from marts.mart_microcredit_league where month_start = %s", [DECEMBER]
    ).fetchone()
    assert rows == 11  # ten counties and the city
    uris = {event["uri"] for event in month_run["events"]["asset_events"]}
    assert uris == {f"postgres://warehouse:5432/shangqiu/marts/{mart}" for mart in marts}
