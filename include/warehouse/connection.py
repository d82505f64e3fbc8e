"""Where the warehouse is, and how each role connects to it.

Order of precedence:
1. ``SQW_WAREHOUSE_URL`` (an admin URL of a real server), or
2. the embedded server under ``.local/``, started on demand.

Each project role (loader, transformer, bi, auditor) logs in with its own
password, taken from ``SQW_<ROLE>_PASSWORD`` or the local secrets folder.
Airflow tasks never come here: they read the Airflow connections the deployment
defines (``airflow_connections``; ``include.pipeline``), and starting a server is
the deployment's job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from include import config
from include.warehouse import embedded
from include.warehouse.secrets import get_secret


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    database: str
    admin_user: str
    admin_password: str
    embedded: bool

    def url(self, role: str = "admin", *, driver: str = "postgresql") -> str:
        """A URL for ``role`` (a key of config.ROLES, or 'admin' for the configured admin)."""
        if role == "admin":
            user, password = self.admin_user, self.admin_password
        else:
            user, password = config.ROLES[role], role_password(role)
        return f"{driver}://{quote(user)}:{quote(password, safe='')}@{self.host}:{self.port}/{self.database}"

    def airflow_connections(self) -> dict[str, str]:
        """``AIRFLOW_CONN_<ID>`` variables: one Airflow connection per task role (see config.AIRFLOW_CONN_IDS)."""
        return {
            f"AIRFLOW_CONN_{conn_id.upper()}": self.url(role, driver="postgres")
            for role, conn_id in config.AIRFLOW_CONN_IDS.items()
        }

    def libpq_env(self, role: str = "bi") -> dict[str, str]:
        """PG* environment variables for psql and other libpq clients."""
        user = self.admin_user if role == "admin" else config.ROLES[role]
        password = self.admin_password if role == "admin" else role_password(role)
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGDATABASE": self.database,
            "PGUSER": user,
            "PGPASSWORD": password,
        }


def role_password(role: str) -> str:
    return get_secret(f"{role}_password")


def configured_url() -> str | None:
    """The admin URL of a configured server, if any."""
    return os.environ.get(config.WAREHOUSE_URL_ENV) or None


def _parse(url: str) -> Server:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise ValueError(f"warehouse URL must be postgresql://, got {parts.scheme}://")
    return Server(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        database=(parts.path or "/").lstrip("/") or config.DATABASE,
        admin_user=unquote(parts.username or "postgres"),
        admin_password=unquote(parts.password or ""),
        embedded=False,
    )


def server(*, start: bool = True) -> Server:
    """The warehouse server; starts the embedded one when nothing is configured."""
    url = configured_url()
    if url:
        return _parse(url)
    instance = embedded.start() if start else embedded.instance()
    return Server(
        host="127.0.0.1",
        port=instance.port,
        database=config.DATABASE,
        admin_user="postgres",
        admin_password=embedded.superuser_password(),
        embedded=True,
    )
