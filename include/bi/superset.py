"""Apache Superset for ``make bi``: installed in a venv of its own, initialised, started on 127.0.0.1, provisioned.

- **Install**: ``.local/superset/venv`` (never Airflow's ``.venv``), from the pins of ``bi/requirements.txt``
  with uv; it is reinstalled only when those pins change (their hash is kept in the venv), so ``make bi`` and
  the tests share one install.
- **Initialise**: ``superset db upgrade``, ``fab create-admin`` and ``init`` with ``bi/superset_config.py``;
  metadata in SQLite under ``<state>/superset``; user ``admin``, password generated into ``.local/secrets/``.
- **Start**: gunicorn on 127.0.0.1 and a port chosen once (``<state>/superset/port``); pid file there, log in
  ``<state>/logs/superset.log``; ``stop`` (and ``make stop``) ends it.
- **Provision**: ``include.bi.provision`` from ``bi/dashboard.yml``, the connection as the read-only BI role.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from include import config
from include.dbt_env import OFFLINE
from include.deploy.services import pid_of
from include.warehouse.connection import Server
from include.warehouse.embedded import free_port
from include.warehouse.secrets import env_name, get_secret

ROOT = config.PROJECT_ROOT / ".local" / "superset"  # the install, shared by every state folder
VENV = ROOT / "venv"
REQUIREMENTS = config.PROJECT_ROOT / "bi" / "requirements.txt"
HOME = config.STATE_DIR / "superset"  # this state folder's metadata, port and pid file
LOG = config.STATE_DIR / "logs" / "superset.log"
PID_FILE = HOME / "superset.pid"
ADMIN_USER = "admin"
SECRET = "superset_admin_password"
ADMIN = {"USERNAME": ADMIN_USER, "FIRSTNAME": "Superset", "LASTNAME": "Admin", "EMAIL": "admin@localhost"}
WORKERS = 2


@dataclass
class Superset:
    url: str
    dashboard: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def admin_password() -> str:
    return get_secret(SECRET)


def python() -> Path:
    """The Superset venv's interpreter (playwright for the screenshot lives there too)."""
    return VENV / "bin" / "python"


def pins_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def install() -> bool:
    """The venv with the pinned requirements (reinstalled when the pins change); whether it installed."""
    marker = VENV / ".requirements-sha256"
    with _locked(ROOT / ".install.lock"):
        if marker.exists() and marker.read_text() == pins_digest():
            return False
        print(f"» superset: installing {REQUIREMENTS.relative_to(config.PROJECT_ROOT)} into {VENV}", flush=True)
        stop()  # this state folder's server runs the old install
        shutil.rmtree(VENV, ignore_errors=True)
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv") or "uv"
        quiet = {"capture_output": True, "text": True}
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(VENV)], **quiet)
        _run([uv, "pip", "install", "--quiet", "--python", str(python()), "-r", str(REQUIREMENTS)], **quiet)
        marker.write_text(pins_digest())
    return True


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    try:
        return subprocess.run(argv, check=True, **kwargs)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"{' '.join(argv[:4])} failed:\n{(error.stderr or error.stdout or '')[-3000:]}") from error


def settings(state: Path = config.STATE_DIR, project: Path = config.PROJECT_ROOT) -> dict[str, str]:
    """What every Superset process runs with (compose's ``x-superset-common``): this project's settings file,
    the state folder, no telemetry."""
    return {
        **OFFLINE,
        "SCARF_ANALYTICS": "false",
        "SUPERSET_CONFIG_PATH": str(project / "bi" / "superset_config.py"),
        "SUPERSET_HOME": str(state / "superset"),
        "SQW_STATE_DIR": str(state),
        "FLASK_APP": "superset",
    }


def environment() -> dict[str, str]:
    """This process's environment without its Python settings, plus ``settings()``."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return env | settings()


def gunicorn(bind: str) -> list[str]:
    """The web server's command line (compose's ``superset`` service runs the same)."""
    options = f"--workers {WORKERS} --worker-class gthread --threads 4 --timeout 120".split()
    return ["gunicorn", "--bind", bind, *options, "superset.app:create_app()"]


def _superset(*args: str, extra: dict[str, str] | None = None) -> str:
    """Run a ``superset`` command (its output appended to the log); returns its output."""
    LOG.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(VENV / "bin" / "superset"), *args]
    done = subprocess.run(argv, env=environment() | (extra or {}), capture_output=True, text=True, check=False)
    with open(LOG, "a", encoding="utf-8") as log:
        log.write(f"$ superset {' '.join(args)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        raise RuntimeError(f"superset {' '.join(args)} failed ({LOG}):\n{done.stderr[-3000:]}")
    return done.stdout


def initialise() -> bool:
    """Metadata migrated, the admin user, roles and permissions: once per state folder and install."""
    marker = HOME / ".initialised"
    if marker.exists() and marker.read_text() == pins_digest():
        return False
    HOME.mkdir(parents=True, exist_ok=True)
    get_secret("superset_secret_key")  # generated here, before processes read it at once
    print("» superset: db upgrade, create-admin, init", flush=True)
    _superset("db", "upgrade")
    # The password reaches the commands through the environment (click reads FLASK_<COMMAND>_<OPTION>),
    # never their command line.
    admin = {f"FLASK_FAB_CREATE_ADMIN_{key}": value for key, value in ADMIN.items()}
    if "already exists" in _superset("fab", "create-admin", extra=admin | _password("CREATE_ADMIN")):
        # metadata kept from an earlier install: the password may have changed since
        _superset("fab", "reset-password", "--username", ADMIN_USER, extra=_password("RESET_PASSWORD"))
    _superset("init")
    marker.write_text(pins_digest())
    return True


def _password(command: str) -> dict[str, str]:
    return {f"FLASK_FAB_{command}_PASSWORD": admin_password()}


def _pid() -> int | None:
    """The pid of the gunicorn this state folder started, if it runs."""
    return pid_of(PID_FILE, b"gunicorn")


def _port() -> int:
    """The port chosen at first start (kept beside the metadata), or a new one when another program took it."""
    path = HOME / "port"
    port = int(path.read_text()) if path.exists() else 0
    if port and (_pid() or _bindable(port)):
        return port
    port = free_port()
    path.write_text(str(port))
    return port


def _bindable(port: int) -> bool:
    try:
        with socket.create_server(("127.0.0.1", port)):
            return True
    except OSError:
        return False


def start(timeout: float = 180) -> str:
    """Start (or find) gunicorn serving Superset on 127.0.0.1; returns its URL once it answers /health."""
    port = _port()
    url = f"http://127.0.0.1:{port}"
    process = None
    if not _pid():
        LOG.parent.mkdir(parents=True, exist_ok=True)
        program, *args = gunicorn(f"127.0.0.1:{port}")
        argv = [str(VENV / "bin" / program), *args]
        with open(LOG, "ab") as log:
            process = subprocess.Popen(
                argv, env=environment(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=HOME, start_new_session=True,
            )  # fmt: skip
        PID_FILE.write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None if process else not _pid():
            raise RuntimeError(f"superset exited while starting: {LOG}\n" + "\n".join(_tail()))
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
            if answer.read().strip() == b"OK":
                return url
        time.sleep(1)
    raise TimeoutError(f"superset did not answer {url}/health in {timeout:.0f} s: {LOG}")


def _tail(lines: int = 30) -> list[str]:
    return LOG.read_text(errors="replace").splitlines()[-lines:] if LOG.exists() else []


def stop() -> bool:
    """Stop the Superset this state folder started; whether it was running."""
    pid = _pid()
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _pid() and time.monotonic() < deadline:
            time.sleep(0.5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    PID_FILE.unlink(missing_ok=True)
    return bool(pid)


def ensure(server: Server) -> Superset:
    """Installed, initialised, running and provisioned over ``server``'s marts; with each stage's seconds."""
    from include.bi.provision import Api, provision  # noqa: PLC0415
    from include.dbt_env import build_manifest  # noqa: PLC0415

    timings: dict[str, float] = {}

    def timed(stage: str, since: float) -> float:
        now = time.monotonic()
        timings[stage] = round(now - since, 1)
        return now

    mark = time.monotonic()
    install()
    mark = timed("install", mark)
    initialise()
    mark = timed("init", mark)
    url = start()
    mark = timed("start", mark)
    if not config.DBT_MANIFEST.exists():
        build_manifest()
    done = provision(Api(url, ADMIN_USER, admin_password()), server.url("bi", driver="postgresql+psycopg2"))
    timed("provision", mark)
    return Superset(url, done.url, timings)


def up() -> int:
    """``make bi``: Superset up over the published marts; prints where the dashboard is and the login."""
    from include.bootstrap import ensure_ready  # noqa: PLC0415

    server = ensure_ready()
    found = ensure(server)
    stages = ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in found.timings.items())
    print(
        "\n".join(
            [
                f"» superset up ({stages})",
                f"Superset: {found.url}   user {ADMIN_USER}, password {admin_password()}",
                f"  (kept in {config.SECRETS_DIR / SECRET} or {env_name(SECRET)})",
                f"Dashboard: {found.dashboard}",
                f"  it reads {config.SCHEMA_PUBLISHED} as {config.ROLE_BI} (read-only) at {server.host}:{server.port}",
                f"Log: {LOG}; stop it (and everything else) with: make stop",
            ]
        )
    )
    return 0
