"""The Airflow deployment on this machine: the native twin of ``docker-compose.yml``.

Two shapes, from the same settings (``environment``):

- ``local`` (``make airflow``, ``make run``): api-server, scheduler and dag-processor with the
  LocalExecutor;
- ``cluster`` (``make cluster``): Redis, api-server, scheduler, dag-processor, triggerer and two
  Celery workers with the CeleryExecutor.

Airflow's metadata lives in the warehouse's PostgreSQL, in a database of its own (``airflow``,
role ``sqw_airflow``), unless ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` names another. Everything
listens on 127.0.0.1. The UI's ``admin`` password, the API's JWT secret and the role passwords are
generated once into ``.local/secrets/``. Processes, their pid files and logs live under
``.local/airflow``; ``stop`` ends every one of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from include import config
from include.dbt_env import OFFLINE
from include.deploy import packages
from include.warehouse.connection import Server, server
from include.warehouse.embedded import free_port
from include.warehouse.secrets import env_name, get_secret

METADATA_DB = "airflow"
METADATA_ROLE = "sqw_airflow"
ADMIN_USER = "admin"
WORKERS = ("worker-1", "worker-2")
# service -> the airflow command it runs (compose runs the same commands: tests/test_compose.py). On one
# machine every process writes the same log folder, so none serves logs over HTTP (that would listen
# on every interface); in compose each container serves its own.
COMMANDS: dict[str, list[str]] = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
    **{worker: ["celery", "worker"] for worker in WORKERS},
}
NATIVE_FLAGS = {"scheduler": ["--skip-serve-logs"], "triggerer": ["--skip-serve-logs"]}
SHAPES = {
    "local": ("api-server", "scheduler", "dag-processor"),
    "cluster": ("redis", "api-server", "scheduler", "dag-processor", "triggerer", *WORKERS),
}
# Settings every Airflow process takes from the environment of whoever starts the deployment, when set.
PASSED_THROUGH = (
    "AIRFLOW_CONN_SMTP_DEFAULT",
    "SQW_ALERT_EMAIL",
    "SQW_HMAC_KEY",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT",  # how soon a task whose worker died counts as failed
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT",  # how soon a task a dead worker had taken, unstarted, counts as failed
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL",
)
RUN_DIR = config.AIRFLOW_HOME / "run"
LOG_DIR = config.STATE_DIR / "logs" / "airflow"
STATE_FILE = RUN_DIR / "deployment.json"


@dataclass(frozen=True)
class Deployment:
    shape: str
    ports: dict[str, int]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def password(self) -> str:
        return admin_password()

    def login_lines(self) -> list[str]:
        """Where the UI is and how to log in, as the commands print it."""
        return [
            f"Airflow UI: {self.url}   user {ADMIN_USER}, password {self.password}",
            f"  (kept in {config.SECRETS_DIR / 'airflow_admin_password'} or {env_name('airflow_admin_password')})",
        ]


def admin_password() -> str:
    return get_secret("airflow_admin_password")


def _ports() -> dict[str, int]:
    """Ports chosen once (like the warehouse's) and kept in ``.local/airflow/ports.json``."""
    path = config.AIRFLOW_HOME / "ports.json"
    names = ("api", "redis")
    ports = json.loads(path.read_text()) if path.exists() else {}
    if set(names) - set(ports):
        ports = {name: ports.get(name) or free_port() for name in names}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(ports))
    return ports


def metadata_url(server: Server) -> str:
    """Airflow's metadata database: ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``, else ``airflow`` on the warehouse."""
    configured = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if configured:
        return configured
    password = get_secret("airflow_db_password")
    return f"postgresql+psycopg2://{METADATA_ROLE}:{password}@{server.host}:{server.port}/{METADATA_DB}"


def ensure_metadata_database(server: Server) -> None:
    """Create the metadata role and database on the warehouse server (unless another is configured)."""
    if os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        return
    maintenance = server.url("admin").rsplit("/", 1)[0] + "/postgres"
    role, password = sql.Identifier(METADATA_ROLE), sql.Literal(get_secret("airflow_db_password"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", [METADATA_ROLE]).fetchone()
        conn.execute(
            sql.SQL("{} role {} login password {}").format(sql.SQL("alter" if exists else "create"), role, password)
        )
        if not conn.execute("select 1 from pg_database where datname = %s", [METADATA_DB]).fetchone():
            conn.execute(
                sql.SQL("create database {} owner {} encoding 'UTF8'").format(sql.Identifier(METADATA_DB), role)
            )


def environment(server: Server, shape: str, ports: dict[str, int]) -> dict[str, str]:
    """The settings every Airflow process of the deployment shares (compose's ``x-airflow-common``)."""
    api = f"http://127.0.0.1:{ports['api']}"
    metadata = metadata_url(server)
    env = {
        **OFFLINE,
        "PYTHONPATH": str(config.PROJECT_ROOT),
        "AIRFLOW_HOME": str(config.AIRFLOW_HOME),
        "SQW_STATE_DIR": str(config.STATE_DIR),
        "SQW_LANDING_DIR": str(config.LANDING_DIR),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(config.PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if shape == "cluster" else "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "include.deploy.hostname.worker_name",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(config.AIRFLOW_HOME / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(ports["api"]),
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API__SECRET_KEY": get_secret("airflow_api_secret_key"),
        "AIRFLOW__API_AUTH__JWT_SECRET": get_secret("airflow_jwt_secret"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(config.AIRFLOW_HOME / "logs"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "60",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{ports['redis']}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata.replace("+psycopg2", ""),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        **server.airflow_connections(),
    }
    return env | {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}


def _airflow() -> str:
    return str(Path(sys.executable).parent / "airflow")


def pid_of(path: Path, program: bytes = b"") -> int | None:
    """The pid a pid file names, if that process runs (and its command line names ``program``), or None.

    A zombie (exited, not yet reaped by its parent) does not run. An empty command line does not mean the
    process is gone: Airflow's services rewrite theirs (setproctitle) as they start, and a read can fall in
    between; taking that for an exit started a second dag-processor, which failed on the first one's DAG row.
    """
    try:
        pid = int(path.read_text().strip() or 0)
        if pid <= 0:  # os.kill(0, ...) would signal our own process group
            return None
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    if state == "Z":
        return None
    return pid if not cmdline or program in cmdline else None


def _pid(name: str) -> int | None:
    """The pid of a running service started by this project, or None."""
    return pid_of(RUN_DIR / f"{name}.pid")


def _spawn(name: str, argv: list[str], env: dict[str, str]) -> None:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=config.PROJECT_ROOT,
            start_new_session=True,
        )
    (RUN_DIR / f"{name}.pid").write_text(str(process.pid))


def _service_argv(name: str, ports: dict[str, int]) -> tuple[list[str], dict[str, str]]:
    """The command line and per-process settings of one service."""
    if name == "redis":
        folder = config.STATE_DIR / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        return [
            packages.ensure("redis-server")["redis-server"],  # installed from Debian's packages (as root)
            "--bind",
            "127.0.0.1",
            "--port",
            str(ports["redis"]),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ], {}
    argv = [_airflow(), *COMMANDS[name], *NATIVE_FLAGS.get(name, [])]
    extra: dict[str, str] = {}
    if name in WORKERS:
        argv += ["--celery-hostname", f"{name}@%h", "--skip-serve-logs"]
        extra = {"SQW_WORKER_NAME": name}
    return argv, extra


def _migrate(env: dict[str, str]) -> None:
    import airflow  # noqa: PLC0415

    marker = config.AIRFLOW_HOME / f".migrated-{airflow.__version__}"
    if marker.exists() and marker.read_text() == env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]:
        return
    subprocess.run([_airflow(), "db", "migrate"], env={**os.environ, **env}, check=True, capture_output=True)
    marker.write_text(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])


def running() -> Deployment | None:
    """The deployment this project started, if its services are up."""
    if not STATE_FILE.exists():
        return None
    state = json.loads(STATE_FILE.read_text())
    if all(_pid(name) for name in SHAPES[state["shape"]]):
        return Deployment(state["shape"], state["ports"])
    return None


def start(shape: str = "local", *, quiet: bool = False) -> Deployment:
    """Start (or find) the deployment: the warehouse, Airflow's metadata, then every service of ``shape``.

    A running cluster also serves ``local`` (it is a superset); a running ``local`` is replaced by a cluster.
    """
    from include.bootstrap import ensure_ready  # noqa: PLC0415

    found = running()
    if found and (found.shape in (shape, "cluster")):
        return found
    if found:
        stop()
    warehouse = ensure_ready()
    ensure_metadata_database(warehouse)
    ports = _ports()
    env = environment(warehouse, shape, ports)
    passwords = config.AIRFLOW_HOME / "passwords.json"
    passwords.write_text(json.dumps({ADMIN_USER: admin_password()}))
    passwords.chmod(0o600)
    if not quiet:
        print(f"» airflow ({shape}): migrating the metadata database", flush=True)
    _migrate(env)
    for name in SHAPES[shape]:
        if not _pid(name):
            argv, extra = _service_argv(name, ports)
            _spawn(name, argv, {**env, **extra})
    STATE_FILE.write_text(json.dumps({"shape": shape, "ports": ports}))
    deployment = Deployment(shape, ports)
    wait_healthy(deployment)
    if not quiet:
        print(f"» airflow ({shape}) up: {', '.join(SHAPES[shape])}", flush=True)
    return deployment


def wait_healthy(deployment: Deployment, timeout: float = 240) -> None:
    """Until the api-server answers and reports a healthy metadata database and scheduler."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    restarted: set[str] = set()
    while time.monotonic() < deadline:
        for name in SHAPES[deployment.shape]:
            if _pid(name):
                continue
            log = LOG_DIR / f"{name}.log"
            if name in restarted:
                tail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
                raise RuntimeError(f"airflow {name} exited twice while starting: {log}\n" + "\n".join(tail))
            print(f"» {name} exited while starting; starting it once more (see {log})", flush=True)
            restarted.add(name)
            respawn(deployment, name)
        try:
            with urllib.request.urlopen(f"{deployment.url}/api/v2/monitor/health", timeout=5) as answer:
                health = json.loads(answer.read())
            last = json.dumps(health)
            if all(health.get(part, {}).get("status") == "healthy" for part in ("metadatabase", "scheduler")):
                return
        except OSError as error:
            last = str(error)
        time.sleep(2)
    raise TimeoutError(f"airflow did not become healthy in {timeout:.0f} s: {last}")


def respawn(deployment: Deployment, name: str) -> None:
    """Start one service of the deployment again, after it exited or was killed."""
    argv, extra = _service_argv(name, deployment.ports)
    _spawn(name, argv, {**environment(server(start=False), deployment.shape, deployment.ports), **extra})


def descendants(pid: int) -> list[int]:
    """Every process started by ``pid``, and by those, however deep (read from /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def kill(name: str) -> bool:
    """SIGKILL a service with every process it started, as when its machine dies: a worker's task processes too,
    which run in process groups of their own. Whether it ran."""
    pid = _pid(name)
    if not pid:
        return False
    for victim in [pid, *descendants(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    return _signal(name, signal.SIGKILL) or True


def _signal(name: str, sig: signal.Signals) -> bool:
    """Send ``sig`` to a running service's process group; whether it was running."""
    pid = _pid(name)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
    return bool(pid)


def stop() -> list[str]:
    """Stop every service this project started (each with its process group); returns their names."""
    names = [path.stem for path in RUN_DIR.glob("*.pid")] if RUN_DIR.exists() else []
    stopped = [name for name in names if _signal(name, signal.SIGTERM)]
    deadline = time.monotonic() + 30
    for name in names:
        while _pid(name) and time.monotonic() < deadline:
            time.sleep(0.5)
        _signal(name, signal.SIGKILL)
        (RUN_DIR / f"{name}.pid").unlink(missing_ok=True)
    STATE_FILE.unlink(missing_ok=True)
    return stopped
