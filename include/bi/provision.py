"""Superset's connection, datasets, charts and dashboard, from ``bi/dashboard.yml``, through its REST API.

Idempotent: every object is found by its name (the connection's, the dataset's table, the chart's title,
the dashboard's slug) and updated in place, so a second run never duplicates anything. The datasets cover
every table of the published schema; their columns take their Chinese names (and descriptions) from the
dbt docs, through the manifest: the lead of a description up to its first ASCII word (``排名 — rank …``).

Also the compose service's provisioning step: ``python -m include.bi.provision --url … --warehouse HOST:PORT``.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from include import config

SPEC = config.PROJECT_ROOT / "bi" / "dashboard.yml"
ROW_LIMIT = 10000
NUMBER_FORMATS = {False: ",.2~f", True: ".2f"}  # d3-format: counts and 元; a rate (``_pct``)
_LEAD = re.compile(r"^[^\x00-\x7f]+(?:\s*\+\s*[^\x00-\x7f]+)*")  # 享受政策的已脱贫户数 + 享受政策的监测户数


class Api:
    """Superset's REST API as one user: a JWT for the calls, the session cookie and CSRF token for writes."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.base = url.rstrip("/")
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self._headers = {"Referer": self.base}
        login = {"username": user, "password": password, "provider": "db", "refresh": True}
        self._headers["Authorization"] = "Bearer " + self.call("POST", "/api/v1/security/login", login)["access_token"]
        self._headers["X-CSRFToken"] = self.call("GET", "/api/v1/security/csrf_token/")["result"]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = self._headers | ({"Content-Type": "application/json"} if data else {})
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=120) as answer:
                text = answer.read()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}") from error
        return json.loads(text) if text else None

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def listing(self, resource: str) -> list[dict[str, Any]]:
        """Every object of a resource (``chart``, ``dataset`` …), page by page."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.get(f"/api/v1/{resource}/?q=(page:{len(found) // 100},page_size:100)")
            found += page["result"]
            if len(found) >= page["count"] or not page["result"]:
                return found

    def save(self, resource: str, pk: int | None, body: dict[str, Any]) -> int:
        """Create (``pk`` None) or update one object; returns its id."""
        if pk is None:
            return int(self.call("POST", f"/api/v1/{resource}/", body)["id"])
        self.call("PUT", f"/api/v1/{resource}/{pk}", body)
        return pk


def chinese_name(description: str) -> str | None:
    """The Chinese name that leads a dbt description (``当年新增户数 — households …`` → ``当年新增户数``)."""
    found = _LEAD.match(description.strip())
    return found.group(0).strip() if found else None


def documented_columns(manifest: Path = config.DBT_MANIFEST) -> dict[str, tuple[str, dict[str, str]]]:
    """Each mart model → its description and its columns' descriptions, as the dbt manifest has them."""
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    return {
        node["name"]: (node.get("description", ""), {c: v.get("description", "") for c, v in node["columns"].items()})
        for node in nodes
        if node["resource_type"] == "model" and node["original_file_path"].startswith("models/marts/")
    }


@dataclass
class Provisioned:
    database: int
    datasets: dict[str, int]
    charts: dict[str, int]
    dashboard: int
    url: str


def provision(api: Api, database_uri: str, spec_path: Path = SPEC, manifest: Path = config.DBT_MANIFEST) -> Provisioned:
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    database = ensure_database(api, spec["database"], database_uri)
    docs = documented_columns(manifest)
    datasets = ensure_datasets(api, database, spec["schema"], docs)
    charts = {
        chart["title"]: ensure_chart(api, chart, datasets, api_columns(api, datasets[chart["dataset"]]))
        for chart in spec["charts"]
    }
    board = ensure_dashboard(api, spec["dashboard"], spec["charts"], charts)
    return Provisioned(database, datasets, charts, board, f"{api.base}/superset/dashboard/{spec['dashboard']['slug']}/")


def ensure_database(api: Api, name: str, uri: str) -> int:
    found = {row["database_name"]: row["id"] for row in api.listing("database")}
    body = {"database_name": name, "sqlalchemy_uri": uri, "expose_in_sqllab": True, "allow_dml": False}
    return api.save("database", found.get(name), body)


def ensure_datasets(
    api: Api, database: int, schema: str, docs: dict[str, tuple[str, dict[str, str]]]
) -> dict[str, int]:
    """A dataset per table of ``schema`` (as the connection's role sees them), its columns named from the docs."""
    tables = [
        t["value"] for t in api.get(f"/api/v1/database/{database}/tables/?q=(force:!t,schema_name:{schema})")["result"]
    ]
    existing = {
        row["table_name"]: row["id"]
        for row in api.listing("dataset")
        if row["schema"] == schema and (row.get("database") or {}).get("id") == database
    }
    datasets: dict[str, int] = {}
    for table in sorted(tables):
        pk = existing.get(table)
        if pk is None:
            pk = api.save("dataset", None, {"database": database, "schema": schema, "table_name": table})
        else:
            api.call("PUT", f"/api/v1/dataset/{pk}/refresh")  # columns added to the mart since
        description, columns = docs.get(table, ("", {}))
        body = {
            "description": description,
            "columns": [_column(c, columns.get(c["column_name"], "")) for c in api_columns(api, pk)],
        }
        api.save("dataset", pk, body)
        datasets[table] = pk
    return datasets


COLUMN_FIELDS = (
    "id",
    "column_name",
    "type",
    "expression",
    "filterable",
    "groupby",
    "is_active",
    "is_dttm",
    "python_date_format",
)


def _column(column: dict[str, Any], description: str) -> dict[str, Any]:
    kept = {key: column[key] for key in COLUMN_FIELDS if column.get(key) is not None}
    return {**kept, "verbose_name": chinese_name(description), "description": description or None}


def api_columns(api: Api, dataset: int) -> list[dict[str, Any]]:
    return list(api.get(f"/api/v1/dataset/{dataset}")["result"]["columns"])


def _order(term: str) -> tuple[str, bool]:
    """``month_start desc`` → (``month_start``, ascending False)."""
    name, _, direction = term.partition(" ")
    return name, direction.strip().lower() != "desc"


def chart_body(chart: dict[str, Any], dataset: int, columns: list[dict[str, Any]]) -> dict[str, Any]:
    """The chart as Superset's explore view saves it: its form data (``params``) and the query context that
    ``/api/v1/chart/{id}/data/`` runs, built the way the table and pivot plugins' ``buildQuery`` build them."""
    names = {c["column_name"]: c.get("verbose_name") or c["column_name"] for c in columns}
    numeric = {
        c["column_name"]
        for c in columns
        if re.match(r"(BIG|SMALL)?INT|NUMERIC|DECIMAL|DOUBLE|REAL", c.get("type") or "")
    }
    where = chart.get("where")
    adhoc = [{"expressionType": "SQL", "sqlExpression": where, "clause": "WHERE"}] if where else []
    form: dict[str, Any] = {
        "datasource": f"{dataset}__table",
        "adhoc_filters": adhoc,
        "row_limit": ROW_LIMIT,
        "time_range": "No filter",
    }
    if chart["viz"] == "table":
        orderby = [list(_order(term)) for term in chart.get("order_by", [])]
        viz = "table"
        form |= {
            "query_mode": "raw",
            "all_columns": chart["columns"],
            "order_by_cols": [json.dumps(term) for term in orderby],
            "table_timestamp_format": "%Y-%m",
            "page_length": 0,
            "include_search": True,
            # thousands separated, rates with the two decimals they are published with
            "column_config": {
                c: {"d3NumberFormat": NUMBER_FORMATS[c.endswith("_pct")]} for c in chart["columns"] if c in numeric
            },
            "show_cell_bars": False,
        }
        query = {"columns": chart["columns"], "orderby": orderby}  # no metrics: raw rows, no GROUP BY
    elif chart["viz"] == "pivot":
        summed = chart["sum"]
        metric = {
            "expressionType": "SIMPLE",
            "column": {"column_name": summed},
            "aggregate": "SUM",
            "label": names.get(summed, summed),
            "hasCustomLabel": True,
            "optionName": f"metric_sum_{summed}",
        }
        viz = "pivot_table_v2"
        form |= {
            "groupbyRows": chart["rows"],
            "groupbyColumns": chart["columns"],
            "metrics": [metric],
            "metricsLayout": "COLUMNS",
            "aggregateFunction": "Sum",
            "valueFormat": NUMBER_FORMATS[False],
            "date_format": "%Y-%m",
            "rowOrder": "key_a_to_z",
            "colOrder": "key_a_to_z",
            "order_desc": True,
        }
        query = {
            "columns": list(dict.fromkeys(chart["columns"] + chart["rows"])),
            "metrics": [metric],
            "orderby": [[metric, False]],
        }
    else:
        raise ValueError(f"{chart['title']}: viz must be table or pivot, not {chart['viz']!r}")
    form["viz_type"] = viz
    query |= {
        "filters": [],
        "extras": {"where": f"({where})" if where else "", "having": ""},
        "row_limit": ROW_LIMIT,
        "time_range": "No filter",
        "applied_time_extras": {},
        "annotation_layers": [],
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
        "post_processing": [],
        "time_offsets": [],
    }
    context = {
        "datasource": {"id": dataset, "type": "table"},
        "force": False,
        "queries": [query],
        "form_data": form,
        "result_format": "json",
        "result_type": "full",
    }
    return {
        "slice_name": chart["title"],
        "viz_type": viz,
        "datasource_id": dataset,
        "datasource_type": "table",
        "params": json.dumps(form, ensure_ascii=False),
        "query_context": json.dumps(context, ensure_ascii=False),
        "is_managed_externally": True,
    }


def ensure_chart(api: Api, chart: dict[str, Any], datasets: dict[str, int], columns: list[dict[str, Any]]) -> int:
    if chart["dataset"] not in datasets:
        raise LookupError(f"{chart['title']}: no table {chart['dataset']} in the published schema")
    found = {row["slice_name"]: row["id"] for row in api.listing("chart")}
    return api.save("chart", found.get(chart["title"]), chart_body(chart, datasets[chart["dataset"]], columns))


def layout(title: str, charts: list[dict[str, Any]], ids: dict[str, int]) -> dict[str, Any]:
    """The dashboard's grid (``position_json``): a row per chart, full width, in the order of the spec."""
    positions: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": title}},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
    }
    for n, chart in enumerate(charts, 1):
        row, cell = f"ROW-{n}", f"CHART-{n}"
        positions["GRID_ID"]["children"].append(row)
        positions[row] = {
            "type": "ROW",
            "id": row,
            "children": [cell],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        positions[cell] = {
            "type": "CHART",
            "id": cell,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID", row],
            "meta": {
                "chartId": ids[chart["title"]],
                "sliceName": chart["title"],
                "width": 12,
                "height": chart.get("height", 50),
            },
        }
    return positions


def ensure_dashboard(api: Api, board: dict[str, Any], charts: list[dict[str, Any]], ids: dict[str, int]) -> int:
    found = {row["slug"]: row["id"] for row in api.listing("dashboard")}
    pk = api.save("dashboard", found.get(board["slug"]), {"dashboard_title": board["title"], "slug": board["slug"]})
    positions = layout(board["title"], charts, ids)
    metadata = {
        "positions": positions,
        "color_scheme": "supersetColors",
        "refresh_frequency": 0,
        "cross_filters_enabled": False,
    }
    body = {
        "dashboard_title": board["title"],
        "slug": board["slug"],
        "published": True,
        "is_managed_externally": True,
        "position_json": json.dumps(positions, ensure_ascii=False),
        "json_metadata": json.dumps(metadata, ensure_ascii=False),
    }
    return api.save("dashboard", pk, body)


def main(argv: list[str] | None = None) -> int:
    """Provision a running Superset (compose's one-off step): the admin and BI passwords from the environment."""
    from include.bi.superset import ADMIN_USER, admin_password  # noqa: PLC0415
    from include.warehouse.connection import Server  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m include.bi.provision", description=__doc__)
    parser.add_argument("--url", required=True, help="Superset's base URL")
    parser.add_argument("--warehouse", required=True, help="HOST:PORT of the warehouse, as Superset reaches it")
    args = parser.parse_args(argv)
    host, _, port = args.warehouse.rpartition(":")
    warehouse = Server(host, int(port), config.DATABASE, admin_user="", admin_password="", embedded=False)
    done = provision(Api(args.url, ADMIN_USER, admin_password()), warehouse.url("bi", driver="postgresql+psycopg2"))
    print(f"provisioned {len(done.datasets)} dataset(s) and {len(done.charts)} chart(s): {done.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
