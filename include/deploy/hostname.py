"""The hostname Airflow records for a task instance (``[core] hostname_callable``).

Two Celery workers on one machine share its hostname; each is started with ``SQW_WORKER_NAME``
so the UI and ``task_instance.hostname`` say which worker ran a task.
"""

from __future__ import annotations

import os


def worker_name() -> str:
    from airflow.utils.net import getfqdn  # noqa: PLC0415

    return os.environ.get("SQW_WORKER_NAME") or getfqdn()
