"""Alert the run's owner when a task of the monthly DAG fails (a failed check, a held-back mart).

Always logged at ERROR (and appended to ``<state>/logs/alerts.log``). Also e-mailed
through Airflow's SMTP provider when ``SQW_ALERT_EMAIL`` names the recipients and
the Airflow connection ``smtp_default`` exists (``AIRFLOW_CONN_SMTP_DEFAULT``, e.g.
``smtp://relay.example:25?disable_ssl=true&disable_tls=true``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

from include import config

log = logging.getLogger(__name__)
SMTP_CONN_ID = "smtp_default"


def message(context: Any) -> tuple[str, str]:
    """Subject and body for a failed task instance."""
    ti = context["ti"]
    interval = context.get("data_interval_start")
    month = (context.get("params") or {}).get("month") or (f"{interval:%Y-%m}" if interval else "?")
    subject = f"[商丘 warehouse] {ti.dag_id} {month}: {ti.task_id} failed"
    body = (
        f"月份 Month: {month}\n任务 Task: {ti.task_id} (map index {getattr(ti, 'map_index', -1)})\n"
        f"运行 Run: {ti.run_id}\n原因 Reason: {context.get('exception')}\n"
        "已发布的数据保持不变 The published marts this failure concerns were not changed; "
        "see dq.publications and the month's data-quality report."
    )
    return subject, body


def alert_owner(context: Any) -> None:
    """on_failure_callback of the monthly DAG's tasks."""
    subject, body = message(context)
    log.error("%s\n%s", subject, body)
    alerts = config.STATE_DIR / "logs" / "alerts.log"
    alerts.parent.mkdir(parents=True, exist_ok=True)
    with alerts.open("a", encoding="utf-8") as out:
        out.write(f"{dt.datetime.now(dt.UTC).isoformat()} {subject}\n{body}\n\n")
    recipients = [a.strip() for a in os.environ.get("SQW_ALERT_EMAIL", "").split(",") if a.strip()]
    if not recipients or not os.environ.get("AIRFLOW_CONN_" + SMTP_CONN_ID.upper()):
        return
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier  # noqa: PLC0415

    try:
        SmtpNotifier(
            to=recipients,
            from_email=os.environ.get("SQW_ALERT_FROM", "warehouse@localhost"),
            subject=subject,
            html_content=body.replace("\n", "<br>\n"),
            smtp_conn_id=SMTP_CONN_ID,
        ).notify(context)
    except Exception:  # an unreachable relay must not hide the original failure
        log.exception("could not e-mail the alert to %s", recipients)
