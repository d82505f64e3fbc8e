"""
### 商丘 monthly consolidation pipeline (巩固拓展脱贫攻坚成果监测)

One run per reporting month: the run's data interval gives the month (the run after a month
closes processes it); a manual run names it with the `month` Param (YYYY-MM). The schedule covers
`config.FIRST_MONTH` to `SQW_LAST_MONTH` (default 2021-12; empty: open-ended), so unpausing the DAG
never starts a month with no feeds; `make run` backfills the months.

0. **dbt_setup**: builds the seeds and staging views when they are missing or were built from
   other models or contracts (a fingerprint kept on the `staging` schema); otherwise skipped.
1. **ingest**: one mapped task per feed contract (`include/contracts/*.yml`) loads the
   month's deliveries into `raw` with `COPY`, pseudonymising resident IDs; files that
   cannot be loaded are quarantined with findings in `ops.findings`.
2. **dbt**: core facts, then candidate marts: one `dbt run` per layer (`dbt.core`, `dbt.marts`,
   Cosmos operators), logged in through the Airflow connection `sqw_warehouse`.
3. **validate**: the gate runs the month's dbt tests (structural: keys, not null, relationships,
   accepted values, unit tests) and every Great Expectations rule in `expectations/rules` (the
   business rules) on the candidate marts, and records each outcome in `dq`. A failing test or
   rule holds back the marts built from what it checks (by dbt lineage); it never stops the month.
4. **check**: one task per owning department; it fails when one of its `fail` rules
   failed, so a failed check is a failed task and the run is not green (the owner is alerted).
5. **publish**: replaces the month in `marts`, in one transaction, for every mart that no
   failed rule taints (by dbt lineage); the tainted marts stay exactly as they were. It emits
   one Asset (`postgres://warehouse:5432/shangqiu/marts/<mart>`) per mart it published.
   A publication that fails (its worker died, the database went away) fails the run, through the
   leaf `published`: the report, the other leaf, succeeds either way.
6. **report**: writes the month's data-quality report for auditors (HTML, xlsx, PDF) and the GX Data Docs,
   whatever the gate decided.

Months run in order: one active run at a time, and `validate` depends on the previous month's
`validate` (year-to-date rules read the month before). When a month's run fails before its
verdict, later months stop at `validate` until that month is rerun (`make run MONTH=YYYY-MM`).
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Asset, AssetAlias, Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from include import config
from include.alerts import alert_owner
from include.cosmos_config import dbt_setup_operators, dbt_task_group

PUBLISHED_MARTS = AssetAlias("shangqiu_published_marts")


@dag(
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone="UTC"),
    start_date=pendulum.parse(f"{config.FIRST_MONTH}-01"),
    end_date=pendulum.parse(f"{config.LAST_MONTH}-01") if config.LAST_MONTH else None,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["shangqiu", "monthly", "publish"],
    params={
        "month": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$", description="reporting month YYYY-MM")
    },
    default_args={
        "owner": "data-engineering",
        "retries": 1,
        "retry_delay": pendulum.duration(minutes=1),
        "on_failure_callback": alert_owner,
    },
)
def shangqiu_monthly() -> None:
    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def dbt_setup_needed() -> bool:
        from include.pipeline import dbt_setup_needed

        return dbt_setup_needed()

    @task
    def dbt_setup_recorded() -> str:
        from include.pipeline import record_dbt_setup

        return record_dbt_setup()

    @task
    def feeds() -> list[str]:
        from include.pipeline import feed_names

        return feed_names()

    @task
    def ingest(feed: str, data_interval_start=None, params=None, run_id: str | None = None) -> dict:
        from include.pipeline import ingest_feed, month_of

        return ingest_feed(feed, month_of(data_interval_start, params["month"]), run_id or "")

    @task(retries=0, depends_on_past=True)
    def validate(data_interval_start=None, params=None, run_id: str | None = None, ti=None) -> dict:
        from include.pipeline import month_of, validate_month

        month = month_of(data_interval_start, params["month"])
        return validate_month(month, run_id or "", ti.try_number if ti else None)

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
    def publish(verdict: dict, run_id: str | None = None, outlet_events=None, ti=None) -> dict:
        from include.pipeline import mart_asset_uri, publish_month

        published = publish_month(verdict, run_id or "", ti.try_number if ti else None)
        for mart in published["published"]:
            outlet_events[PUBLISHED_MARTS].add(Asset(mart_asset_uri(mart), group="shangqiu_marts"))
        return published

    @task(retries=0, trigger_rule="all_done")
    def report(data_interval_start=None, params=None) -> dict:
        from include.pipeline import month_of, report_month

        return report_month(month_of(data_interval_start, params["month"]))

    seeds, staging_views = dbt_setup_operators()
    dbt_setup_done = EmptyOperator(task_id="dbt_setup_done", trigger_rule="none_failed")  # setup ran, or was not needed
    setup = dbt_setup_needed() >> seeds >> staging_views >> dbt_setup_recorded() >> dbt_setup_done
    loaded = ingest.expand(feed=feeds())
    transform = dbt_task_group("dbt")
    verdict = validate()
    [setup, loaded] >> transform >> verdict
    check.expand(check=departments(verdict))  # leaves: a failed check fails the run
    published = publish(verdict)
    published >> report()  # the report runs whatever happened; it is a leaf, so it alone would decide the run:
    published >> EmptyOperator(task_id="published")  # a leaf that fails with the publication: the run goes red


shangqiu_monthly()
