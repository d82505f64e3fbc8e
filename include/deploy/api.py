"""A small client of Airflow's REST API (v2), as the admin user of the deployment."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from include.deploy.services import ADMIN_USER, Deployment

DAG_ID = "shangqiu_monthly"


class Api:
    def __init__(self, deployment: Deployment) -> None:
        self.base = deployment.url
        self._password = deployment.password
        self._token = ""

    def _login(self) -> None:
        body = json.dumps({"username": ADMIN_USER, "password": self._password}).encode()
        request = urllib.request.Request(
            f"{self.base}/auth/token", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            self._token = json.loads(answer.read())["access_token"]

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        if not self._token:
            self._login()
        url = f"{self.base}/api/v2{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        data = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            request = urllib.request.Request(
                url,
                data=data,
                method=method,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._token}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    text = answer.read()
                    return json.loads(text) if text else None
            except urllib.error.HTTPError as error:
                if error.code == 401 and attempt == 1:  # the token expired
                    self._login()
                    continue
                raise RuntimeError(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}") from error
        return None

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, **query)

    def post(self, path: str, body: Any) -> Any:
        return self.call("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self.call("PATCH", path, body)

    def dag(self, dag_id: str = DAG_ID) -> dict[str, Any] | None:
        try:
            return dict(self.get(f"/dags/{dag_id}"))
        except RuntimeError as error:
            if ": 404 " in str(error):
                return None
            raise

    def import_errors(self) -> list[dict[str, Any]]:
        return list(self.get("/importErrors")["import_errors"])

    def runs(self, dag_id: str = DAG_ID, **query: Any) -> list[dict[str, Any]]:
        return list(self.get(f"/dags/{dag_id}/dagRuns", limit=100, **query)["dag_runs"])

    def task_instances(self, run_id: str, dag_id: str = DAG_ID) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            page = self.get(
                f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances",
                limit=100,
                offset=len(found),
            )
            found += page["task_instances"]
            if len(found) >= page["total_entries"] or not page["task_instances"]:
                return found
