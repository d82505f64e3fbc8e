"""The embedded PostgreSQL server that runs when no warehouse is configured.

Binaries: the system's PostgreSQL where it is installed, otherwise the copy
bundled in the ``pgserver`` wheel, so that pip alone suffices. ``SQW_PG_SOURCE``
(``system`` or ``wheel``) forces one, ``SQW_PG_BIN`` names a folder outright.
``initdb`` refuses to run as root; as root the server runs as an unprivileged
system user that owns only the data folder.

``SQW_PG_THROWAWAY=1`` (the test suite sets it) initialises a server that never
forces its writes to disk (``fsync``, ``full_page_writes`` off): it survives a
killed server process, not a crash of the machine, which is all a warehouse
wiped at every test session needs. ``make run``'s warehouse stays durable.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from include import config
from include.warehouse.secrets import get_secret

SERVICE_USER = "sqwpg"


@dataclass(frozen=True)
class Embedded:
    """Where an embedded server keeps its data and which binaries run it."""

    pgdata: Path
    bindir: Path

    @property
    def port(self) -> int:
        return int((self.pgdata.parent / "pg_port").read_text().strip())

    def running(self) -> bool:
        result = _run([str(self.bindir / "pg_ctl"), "-D", str(self.pgdata), "status"], check=False)
        return result.returncode == 0


def _version(bindir: Path) -> tuple[int, ...]:
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True)
    return tuple(int(part) for part in out.stdout.split()[-1].split(".") if part.isdigit())


def system_bindirs() -> list[Path]:
    """System PostgreSQL binary folders, newest first."""
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") + glob.glob("/usr/pgsql-*/bin")]
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            found.append(Path(out.stdout.strip()))
    usable = {p for p in found if (p / "initdb").exists() and (p / "postgres").exists()}
    return sorted(usable, key=_version, reverse=True)


def wheel_bindir() -> Path | None:
    """The PostgreSQL binaries bundled in the pgserver wheel, if it is installed."""
    try:
        import pgserver  # noqa: PLC0415  (optional and heavy-ish)
    except ImportError:
        return None
    path = Path(pgserver.__file__).parent / "pginstall" / "bin"
    return path if (path / "initdb").exists() else None


def find_bindir(source: str | None = None) -> Path:
    """Pick the binaries: an explicit folder, the system's, or the wheel's."""
    explicit = os.environ.get("SQW_PG_BIN")
    if explicit:
        return Path(explicit)
    source = source or os.environ.get("SQW_PG_SOURCE", "auto")
    if source in ("auto", "system"):
        system = system_bindirs()
        if system:
            return system[0]
        if source == "system":
            raise RuntimeError("SQW_PG_SOURCE=system but no system PostgreSQL binaries were found")
    wheel = wheel_bindir()
    if wheel is None:
        raise RuntimeError("no PostgreSQL binaries: install the pgserver wheel (pip install -r requirements.txt)")
    return wheel


def _service_user() -> pwd.struct_passwd | None:
    """The user the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVICE_USER)


def _make_traversable(path: Path) -> None:
    """Let the service user reach ``path``: add o+x to each parent folder that lacks it."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH | stat.S_IROTH)


def _run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    user = _service_user()
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=check,
        user=user.pw_uid if user else None,
        group=user.pw_gid if user else None,
        cwd="/",
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def superuser_password() -> str:
    return get_secret("postgres_password")


def _initdb(pgdata: Path, bindir: Path) -> None:
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    user = _service_user()
    if user:
        _make_traversable(bindir)
        _make_traversable(pgdata.parent)
    pgdata.mkdir(mode=0o700)
    with tempfile.NamedTemporaryFile("w", dir=pgdata.parent, delete=False) as pwfile:
        pwfile.write(superuser_password())
    try:
        if user:
            os.chown(pgdata, user.pw_uid, user.pw_gid)
            os.chown(pwfile.name, user.pw_uid, user.pw_gid)
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile.name}",
                "--encoding=UTF8",
                "--no-locale",
            ]
        )
    finally:
        os.unlink(pwfile.name)
    port = int(os.environ.get("SQW_PG_PORT") or free_port())
    (pgdata.parent / "pg_port").write_text(f"{port}\n")
    (pgdata.parent / "pg_bindir").write_text(f"{bindir}\n")
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": "''",
        "shared_buffers": "'256MB'",
        "work_mem": "'32MB'",
        "maintenance_work_mem": "'256MB'",
        "max_wal_size": "'2GB'",
        "synchronous_commit": "off",
        "wal_level": "minimal",
        "max_wal_senders": "0",
        "timezone": "'Asia/Shanghai'",
        "logging_collector": "off",
    }
    if os.environ.get("SQW_PG_THROWAWAY") == "1":
        settings |= {"fsync": "off", "full_page_writes": "off"}
    conf = "".join(f"{key} = {value}\n" for key, value in settings.items())
    with open(pgdata / "postgresql.conf", "a", encoding="utf-8") as handle:
        handle.write("\n# set by include/warehouse/embedded.py\n" + conf)
    (pgdata / "pg_hba.conf").write_text("host all all 127.0.0.1/32 scram-sha-256\n")


def instance(pgdata: Path | None = None) -> Embedded:
    """The embedded instance under ``pgdata``; binaries are fixed once it is initialised."""
    pgdata = pgdata or config.PGDATA
    recorded = pgdata.parent / "pg_bindir"
    bindir = Path(recorded.read_text().strip()) if recorded.exists() and pgdata.exists() else find_bindir()
    return Embedded(pgdata=pgdata, bindir=bindir)


def start(pgdata: Path | None = None) -> Embedded:
    """Initialise (first time) and start the embedded server; a no-op when it already runs."""
    server = instance(pgdata)
    if not (server.pgdata / "PG_VERSION").exists():
        if server.pgdata.exists():
            shutil.rmtree(server.pgdata)
        _initdb(server.pgdata, server.bindir)
    if server.running():
        return server
    log = server.pgdata.parent / "postgres.log"
    if _service_user():
        log.touch()
        user = _service_user()
        assert user is not None
        os.chown(log, user.pw_uid, user.pw_gid)
    _run([str(server.bindir / "pg_ctl"), "-D", str(server.pgdata), "-l", str(log), "-w", "-t", "60", "start"])
    _wait_for_port(server.port)
    return server


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"embedded PostgreSQL did not open 127.0.0.1:{port}")


def stop(pgdata: Path | None = None) -> bool:
    """Stop the embedded server; returns whether one was running."""
    server = instance(pgdata)
    if not server.pgdata.exists() or not server.running():
        return False
    stopped = _run([str(server.bindir / "pg_ctl"), "-D", str(server.pgdata), "-m", "fast", "-w", "stop"], check=False)
    if stopped.returncode and server.running():
        raise RuntimeError(f"the embedded PostgreSQL under {server.pgdata} did not stop: {stopped.stderr.strip()}")
    return True
