"""Secrets come from the environment, or from files under the local state folder.

A secret that is neither in the environment nor on disk is generated once and
kept in ``.local/secrets`` (mode 0600, ignored by git). Nothing secret is ever
committed: a deployment sets the environment variables instead.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from include import config


def env_name(name: str) -> str:
    """The environment variable that overrides the secret ``name``."""
    return "SQW_" + name.upper().replace("-", "_").replace(".", "_")


def get_secret(name: str, *, directory: Path | None = None) -> str:
    """Return the secret ``name``, generating and storing it on first use."""
    value = os.environ.get(env_name(name))
    if value:
        return value
    folder = directory or config.SECRETS_DIR
    path = folder / name
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    value = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value


def hmac_key() -> bytes:
    """The key that pseudonymises resident ID numbers (SQW_HMAC_KEY or a local key file)."""
    return get_secret("hmac_key").encode("utf-8")
