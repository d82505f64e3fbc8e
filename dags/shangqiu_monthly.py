"""
### 商丘 monthly consolidation pipeline (巩固拓展脱贫攻坚成果监测)

One run per reporting month; the month is the run's data interval
(the run after a month closes processes that month).

1. **ingest**: one mapped task per feed contract (`include/contracts/*.yml`) loads the
   month's deliveries into `raw` with `COPY`, pseudonymising resident IDs; files that
   cannot be loaded are quarantined with findings in `ops.findings`.
2. **dbt**: staging → core facts → candidate marts, rendered by Cosmos from the manifest.
3. **validate**: the Great Expectations gate runs every rule in `expectations/rules` on
   the month's candidate marts and records each outcome in `dq`.
4. **check**: one task per owning department; it fails when one of its `fail` rules
   failed, so a failed check is a failed task and the run is not green (the owner is alerted).
5. **publish**: replaces the month in `marts`, in one transaction, for every mart that no
   failed rule taints (by dbt lineage); the tainted marts stay exactly as they were.
6. **report**: writes the month's data-quality report for auditors (HTML) and the GX Data Docs,
   whatever the gate decided.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from include.alerts import alert_owner
from include.cosmos_config import dbt_task_group

PUBLISHED_MARTS = Asset("postgres://warehouse/marts")


@dag(
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone="UTC"),
    start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["shangqiu", "monthly", "publish"],
    default_args={
        "owner": "data-engineering",
        "retries": 1,
        "retry_delay": pendulum.duration(minutes=1),
        "on_failure_callback": alert_owner,
    },
)
def shangqiu_monthly() -> None:
    @task
    def feeds() -> list[str]:
        from include.pipeline import feed_names

        return feed_names()

    @task
    def ingest(feed: str, data_interval_start: pendulum.DateTime | None = None, run_id: str | None = None) -> dict:
        from include.pipeline import ingest_feed, month_of

        assert data_interval_start is not None
        return ingest_feed(feed, month_of(data_interval_start), run_id or "")

    @task(retries=0)
    def validate(data_interval_start: pendulum.DateTime | None = None, run_id: str | None = None) -> dict:
        from include.pipeline import month_of, validate_month

        assert data_interval_start is not None
        return validate_month(month_of(data_interval_start), run_id or "")

    @task
    def departments(verdict: dict) -> list[dict]:
        from include.pipeline import checks_by_owner

        return checks_by_owner(verdict)

    @task(retries=0, map_index_template="{{ check.owner }}")
    def check(check: dict) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from include.pipeline import check_failures

        if reason := check_failures(check):
            raise AirflowFailException(reason)

    @task(retries=0, outlets=[PUBLISHED_MARTS])
    def publish(verdict: dict, run_id: str | None = None) -> dict:
        from include.pipeline import publish_month

        return publish_month(verdict, run_id or "")

    @task(retries=0, trigger_rule="all_done")
    def report(data_interval_start: pendulum.DateTime | None = None) -> dict:
        from include.pipeline import month_of, report_month

        assert data_interval_start is not None
        return report_month(month_of(data_interval_start))

    loaded = ingest.expand(feed=feeds())
    transform = dbt_task_group("dbt")
    verdict = validate()
    loaded >> transform >> verdict
    check.expand(check=departments(verdict))  # leaves: a failed check fails the run
    publish(verdict) >> report()


shangqiu_monthly()
