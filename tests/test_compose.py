"""docker-compose.yml is the containerised twin of the native cluster (include/deploy/services.py).

Same services running the same airflow commands, the same settings in ``x-airflow-common`` as
``services.environment()`` gives every native process, the same secret names (``SQW_<NAME>``, as
``get_secret`` reads them), and no secret in the file. Files are parsed only: no Docker needed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from include import config
from include.dbt_env import OFFLINE, OFFLINE_ENV
from include.deploy import services
from include.warehouse.connection import Server, _parse, role_password
from include.warehouse.secrets import env_name, get_secret

ROOT = config.PROJECT_ROOT
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")

# native service -> its compose counterpart (every native worker is a replica of airflow-worker)
COUNTERPART = {
    "redis": "redis",
    "api-server": "airflow-apiserver",
    "scheduler": "airflow-scheduler",
    "dag-processor": "airflow-dag-processor",
    "triggerer": "airflow-triggerer",
    **{worker: "airflow-worker" for worker in services.WORKERS},
}
INIT = "airflow-init"  # the one-off set-up container: no native service (services.start does its work)
# BI: Superset and its two one-off steps, the twin of `make bi` (include/bi/superset.py), not of Airflow.
SUPERSET, SUPERSET_INIT, SUPERSET_PROVISION = "superset", "superset-init", "superset-provision"
BI = {SUPERSET, SUPERSET_INIT, SUPERSET_PROVISION}
SUPERSET_PORT = 8088

# Settings on one side only, each with its reason. Keep them short, and real (asserted below).
NATIVE_ONLY: dict[str, str] = {
    # none: every setting of the native processes is also in compose
}
COMPOSE_ONLY: dict[str, str] = {
    # none: the warehouse's admin URL (SQW_WAREHOUSE_URL) and the role passwords are airflow-init's
    # alone (test_admin_credentials_only_in_init), never in the settings every task sees.
}
# The variables services.environment() copies from its own environment when they are set.
PASSED_THROUGH = services.PASSED_THROUGH
# Settings that name a place: a container path in compose, a path of this checkout natively.
PATHS = {
    "PYTHONPATH",
    "AIRFLOW_HOME",
    "SQW_STATE_DIR",
    "SQW_LANDING_DIR",
    "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__CORE__PLUGINS_FOLDER",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER",
}
# Settings that name a host: (native, compose). Everything else must be equal, value for value.
HOSTS = {
    # inside its container the API listens on every interface; the host publishes it on 127.0.0.1 only
    "AIRFLOW__API__HOST": ("127.0.0.1", "0.0.0.0"),
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": ("//127.0.0.1:", "//airflow-apiserver:"),
    "AIRFLOW__CELERY__BROKER_URL": ("//127.0.0.1:", "//redis:"),
    # natively Airflow's metadata database lives on the warehouse's server; compose gives it its own
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": ("@warehouse:", "@metadata:"),
    "AIRFLOW__CELERY__RESULT_BACKEND": ("@warehouse:", "@metadata:"),
}
API_PORT, REDIS_PORT, WAREHOUSE_PORT = 8080, 6379, 5432

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a literal $.
TOKEN = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
REQUIRED_REFERENCE = re.compile(r"\$\{[A-Z][A-Z0-9_]*:\?[^}]*\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|TOKEN")
CREDENTIALS = re.compile(r"://[^/:@\s]*:(?P<password>\$\{[^}]*\}|[^@\s]*)@")  # scheme://user:password@


def references(text: str) -> dict[str, str]:
    """Every variable the text interpolates -> its operator ('' | '-' | ':-' | '?' | ':?')."""
    return {m["name"]: m["op"] or "" for m in TOKEN.finditer(text) if m["name"]}


def interpolate(text: str, env: dict[str, str]) -> str:
    """What docker compose makes of ``text`` with ``env`` as its .env."""

    def value(m: re.Match[str]) -> str:
        if m[0] == "$$":
            return "$"
        found, op = env.get(m["name"]), m["op"] or ""
        if found is None or (found == "" and op.startswith(":")):
            if op.endswith("?"):
                raise KeyError(f"{m['name']}: {m['arg']}")
            return m["arg"] if op.endswith("-") else ""
        return found

    return TOKEN.sub(value, text)


def command(service: dict[str, Any]) -> list[str]:
    words = service["command"]
    return shlex.split(words) if isinstance(words, str) else list(words)


def settings(service: dict[str, Any]) -> dict[str, Any]:
    """What a container's environment holds: its env_file (offline.env, whose switches are OFFLINE), then
    its environment."""
    return {**(OFFLINE if service.get("env_file") == OFFLINE_ENV.name else {}), **service["environment"]}


def environments(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "x-airflow-common", doc["x-airflow-common"]["environment"]
    for name, service in doc["services"].items():
        yield name, service.get("environment") or {}


RAW = yaml.safe_load(COMPOSE_TEXT)


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A .env with a URL-safe fake for every variable compose reads, also in this process's environment,
    so that the native side reads the same secrets through get_secret (SQW_<NAME>)."""
    names = [*references(COMPOSE_TEXT), *PASSED_THROUGH]
    env = {name: "fake-" + name.lower().replace("_", "-") for name in names}
    for name, fake in env.items():
        monkeypatch.setenv(name, fake)
    monkeypatch.delenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", raising=False)  # else metadata_url() returns it
    return env


@pytest.fixture
def compose(fake_env: dict[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(interpolate(COMPOSE_TEXT, fake_env))
    return doc


@pytest.fixture
def native(fake_env: dict[str, str]) -> dict[str, str]:
    """The native cluster's settings, for a warehouse at the compose address and the compose ports."""
    server = Server("warehouse", WAREHOUSE_PORT, config.DATABASE, admin_user="a", admin_password="p", embedded=False)
    return services.environment(server, "cluster", {"api": API_PORT, "redis": REDIS_PORT})


def test_services_and_commands_match_native() -> None:
    composed = RAW["services"]
    assert set(services.SHAPES["cluster"]) <= set(COUNTERPART), "a native service without a compose counterpart"
    for name in services.SHAPES["cluster"]:
        assert COUNTERPART[name] in composed, f"{name}: no {COUNTERPART[name]} in docker-compose.yml"
    for name, words in services.COMMANDS.items():
        assert command(composed[COUNTERPART[name]]) == words, f"{COUNTERPART[name]} runs another command than {name}"
    airflow_services = {name for name, service in composed.items() if "build" in service} - {INIT} - BI
    assert airflow_services == {COUNTERPART[name] for name in services.COMMANDS}, "an Airflow service natively absent"
    worker = composed["airflow-worker"]
    assert "container_name" not in worker and "hostname" not in worker, "--scale airflow-worker=N needs neither"
    assert worker["deploy"]["replicas"] == len(services.WORKERS)
    assert all("healthcheck" in composed[name] for name in airflow_services | {"redis", "metadata", "warehouse"})


def test_settings_match_native(compose: dict[str, Any], native: dict[str, str]) -> None:
    common = settings(compose["x-airflow-common"])
    assert all(isinstance(value, str) for value in common.values()), "quote every value (YAML makes True a bool)"
    assert set(NATIVE_ONLY) <= set(native) and not set(NATIVE_ONLY) & set(common), "NATIVE_ONLY is stale"
    assert set(COMPOSE_ONLY) <= set(common) and not set(COMPOSE_ONLY) & set(native), "COMPOSE_ONLY is stale"
    compose_keys, native_keys = set(common) - set(COMPOSE_ONLY), set(native) - set(NATIVE_ONLY)
    assert compose_keys == native_keys, (
        f"only in compose: {sorted(compose_keys - native_keys)}; only native: {sorted(native_keys - compose_keys)}"
    )

    project, container_project = PurePosixPath(native["PYTHONPATH"]), PurePosixPath(common["PYTHONPATH"])
    for key in sorted(set(common) - set(COMPOSE_ONLY)):
        ours, theirs = common[key], native[key]
        if key in PATHS:
            assert PurePosixPath(ours).is_absolute(), f"{key}: a container path, not {ours!r}"
            if PurePosixPath(theirs).is_relative_to(project) and not any(  # the checkout's own folders
                PurePosixPath(theirs).is_relative_to(state) for state in (config.STATE_DIR, config.LANDING_DIR)
            ):
                assert PurePosixPath(ours) == container_project / PurePosixPath(theirs).relative_to(project), key
        elif key in HOSTS:
            native_host, compose_host = HOSTS[key]
            assert native_host in theirs, f"{key}: HOSTS is stale ({theirs!r})"
            assert ours == theirs.replace(native_host, compose_host), key
        else:
            assert ours == theirs, f"{key}: compose {ours!r}, native {theirs!r}"


def test_superset_matches_make_bi(compose: dict[str, Any]) -> None:
    """The Superset services run what ``make bi`` runs: the same settings, server, set-up steps and provisioning."""
    from include.bi import superset

    composed = compose["services"]
    root = PurePosixPath("/opt/shangqiu")  # bi/Dockerfile's WORKDIR, the checkout's place in the image
    native = superset.settings(state=Path(root / "state"), project=Path(root))
    for name in (SUPERSET, SUPERSET_INIT):
        env = settings(composed[name])
        assert {k: v for k, v in env.items() if k in native} == native, f"{name}: other settings than make bi's"
        assert env[env_name("superset_secret_key")] == get_secret("superset_secret_key")
    assert command(composed[SUPERSET]) == superset.gunicorn(f"0.0.0.0:{SUPERSET_PORT}")
    assert composed[SUPERSET]["ports"] == [f"127.0.0.1:{SUPERSET_PORT}:{SUPERSET_PORT}"]
    assert "healthcheck" in composed[SUPERSET]

    script = " ".join(command(composed[SUPERSET_INIT]))
    for step in ("superset db upgrade", "superset fab create-admin", "superset init"):
        assert step in script, f"{SUPERSET_INIT} does not run {step}"
    init = composed[SUPERSET_INIT]["environment"]
    assert {key: init[f"FLASK_FAB_CREATE_ADMIN_{key}"] for key in superset.ADMIN} == superset.ADMIN
    assert f"superset fab reset-password --username {superset.ADMIN_USER}" in script
    assert (
        init["FLASK_FAB_CREATE_ADMIN_PASSWORD"]
        == init["FLASK_FAB_RESET_PASSWORD_PASSWORD"]
        == superset.admin_password()
    )

    provision = composed[SUPERSET_PROVISION]
    assert provision["entrypoint"] == ["python", "-m", "include.bi.provision"]
    args = provision["command"]
    assert args[args.index("--url") + 1] == f"http://{SUPERSET}:{SUPERSET_PORT}"
    assert args[args.index("--warehouse") + 1] == f"warehouse:{WAREHOUSE_PORT}"
    project = PurePosixPath(compose["x-airflow-common"]["environment"]["PYTHONPATH"])
    assert f"./bi:{project / 'bi'}:ro" in provision["volumes"], "provisioning reads bi/dashboard.yml from the checkout"
    assert provision["environment"][env_name("bi_password")] == role_password("bi")

    # The image has the pins and the settings file, and every project module that file imports.
    dockerfile = (ROOT / "bi" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^WORKDIR /opt/shangqiu$", dockerfile, re.M)
    assert re.search(r"pip install --no-cache-dir -r bi/requirements\.txt", dockerfile)
    copied = {word for line in re.findall(r"^COPY (.+)$", dockerfile, re.M) for word in line.split()[:-1]}
    imported = re.findall(r"^from (include[\w.]*) import (\w+)", (ROOT / "bi" / "superset_config.py").read_text(), re.M)
    for package, name in imported:
        module = f"{package}.{name}".replace(".", "/")
        path = f"{module}.py" if (ROOT / f"{module}.py").exists() else f"{package.replace('.', '/')}.py"
        assert path in copied, f"bi/Dockerfile does not copy {path}, which bi/superset_config.py imports"
        assert f"{path.rsplit('/', 1)[0]}/__init__.py" in copied
    assert "bi/superset_config.py" in copied


def test_admin_credentials_only_in_init(compose: dict[str, Any]) -> None:
    """Only airflow-init sees the warehouse's admin URL and the role passwords, and they agree with
    the warehouse container, the connections' passwords and what get_secret gives the native side."""
    composed = compose["services"]
    init, common = composed[INIT]["environment"], compose["x-airflow-common"]["environment"]
    roles = [role for role in config.ROLES if role != "admin"]
    init_only = [config.WAREHOUSE_URL_ENV, env_name("airflow_admin_password")]
    init_only += [env_name(f"{role}_password") for role in roles]
    assert not set(init_only) & set(common), "admin credentials would reach every task"
    for role in roles:
        assert init[env_name(f"{role}_password")] == role_password(role), role
    assert init[env_name("airflow_admin_password")] == services.admin_password()

    admin = _parse(init[config.WAREHOUSE_URL_ENV])
    warehouse = composed["warehouse"]["environment"]
    assert (admin.host, admin.port, admin.database) == ("warehouse", WAREHOUSE_PORT, config.DATABASE)
    assert (admin.admin_user, admin.admin_password) == (warehouse["POSTGRES_USER"], warehouse["POSTGRES_PASSWORD"])
    assert warehouse["POSTGRES_DB"] == config.DATABASE

    metadata = composed["metadata"]["environment"]
    assert (metadata["POSTGRES_USER"], metadata["POSTGRES_DB"]) == (services.METADATA_ROLE, services.METADATA_DB)
    assert metadata["POSTGRES_PASSWORD"] == get_secret("airflow_db_password")

    script = " ".join(command(composed[INIT]))
    assert "airflow db migrate" in script and "python -m include.cli up" in script


def test_no_secret_in_compose_file() -> None:
    for where, env in environments(RAW):
        for key, value in env.items():
            text = str(value)
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                assert REQUIRED_REFERENCE.fullmatch(text), f"{where} {key}: must be ${{{key}:?set in .env}}-like"
            for found in CREDENTIALS.finditer(text):
                assert REQUIRED_REFERENCE.fullmatch(found["password"]), f"{where} {key}: a literal password"
    for name, op in references(COMPOSE_TEXT).items():
        if SECRET_NAME.search(name):
            assert op == ":?", f"${{{name}}}: a secret has no default and must be set (:?)"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".local", ".venv", ".git"} <= set(ignored), "the build context would carry secrets"


def test_ports_published_on_loopback_only() -> None:
    for name, service in RAW["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond 127.0.0.1"
    common = RAW["x-airflow-common"]["environment"]
    assert RAW["services"]["airflow-apiserver"]["ports"] == [f"127.0.0.1:{API_PORT}:{common['AIRFLOW__API__PORT']}"]


def test_dockerfile_bakes_the_project() -> None:
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    pinned = re.search(r"^apache-airflow==(\S+)$", requirements, re.M)
    python = re.search(r"--python-version (\S+)", requirements)
    base = re.search(r"^FROM apache/airflow:(?P<version>[0-9.]+)-python(?P<python>[0-9.]+)$", DOCKERFILE, re.M)
    assert base and pinned and python
    assert base["version"] == "3.3.2" == pinned[1], "the image and requirements.txt pin different Airflows"
    assert base["python"] == python[1], "requirements.txt is compiled for another Python"
    assert re.search(r"^RUN .*python -m include\.cli manifest", DOCKERFILE, re.M), "the dbt manifest is not baked in"
    assert re.search(r"^RUN pip install --no-cache-dir -r \S*requirements\.txt$", DOCKERFILE, re.M)
    for folder in ("dags", "include", "plugins", "dbt_project", "expectations"):
        assert re.search(rf"^COPY .*\b{folder}/ {folder}/$", DOCKERFILE, re.M), f"{folder}/ is not in the image"
    env = dict(re.findall(r"\b([A-Z][A-Z0-9_]*)=(\S+)", DOCKERFILE))
    assert env["PYTHONPATH"] == RAW["x-airflow-common"]["environment"]["PYTHONPATH"]
    assert re.search(rf"^COPY .*\b{OFFLINE_ENV.name} {OFFLINE_ENV.name}$", DOCKERFILE, re.M), "include.dbt_env reads it"
    assert not set(OFFLINE) & set(env), f"the telemetry switches are set once, in {OFFLINE_ENV.name}"
    assert "pip install" not in COMPOSE_TEXT and "_PIP_ADDITIONAL_REQUIREMENTS" not in COMPOSE_TEXT


def test_env_example_lists_every_variable() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, re.M))
    required = set(re.findall(r"^([A-Z][A-Z0-9_]*)=CHANGE_ME$", example, re.M))
    used = references(COMPOSE_TEXT)
    assert set(used) <= listed, f"not in .env.example: {sorted(set(used) - listed)}"
    assert {name for name, op in used.items() if op == ":?"} <= required, "a required variable without CHANGE_ME"


def test_telemetry_off_from_offline_env() -> None:
    """Every container of the project's images takes the telemetry switches from offline.env, as the
    Makefile and include.dbt_env do; none sets them itself."""
    assert OFFLINE and OFFLINE_ENV.parent == ROOT
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(rf"^include {OFFLINE_ENV.name}$", makefile, re.M), "make does not read the switches"
    ours = {"x-airflow-common": RAW["x-airflow-common"], **RAW["services"]}
    for name, service in ours.items():
        if "build" in service:
            assert service.get("env_file") == OFFLINE_ENV.name, f"{name}: telemetry not switched off"
            assert not set(OFFLINE) & set(service.get("environment") or {}), f"{name}: sets a switch itself"
