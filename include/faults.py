"""Fault points: named places where a test stops a real process so that it can kill it there.

A test arms a point by creating ``<state>/faults/<name>``. A process that reaches an armed point writes
``<name>.reached`` (its pid, and the worker it runs on) and waits there until it is killed or the point
is disarmed. Unarmed, a point costs one ``stat``. Nothing in production arms a point."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from include import config

FOLDER = config.STATE_DIR / "faults"


def _path(name: str) -> Path:
    return FOLDER / name.replace(":", "__")


def point(name: str) -> None:
    """Wait here while the point ``name`` is armed (a test kills this process meanwhile)."""
    armed = _path(name)
    if not armed.exists():
        return
    reached = armed.with_name(armed.name + ".reached")
    reached.write_text(json.dumps({"pid": os.getpid(), "worker": os.environ.get("SQW_WORKER_NAME")}))
    while armed.exists():
        time.sleep(0.2)


def arm(name: str) -> Path:
    """Arm ``name``; returns the file its first visitor writes."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    armed = _path(name)
    armed.with_name(armed.name + ".reached").unlink(missing_ok=True)
    armed.touch()
    return armed.with_name(armed.name + ".reached")


def disarm(name: str) -> None:
    _path(name).unlink(missing_ok=True)


def wait_reached(name: str, timeout: float = 600) -> dict[str, object]:
    """Until a process waits at ``name``; returns what it wrote (pid, worker)."""
    reached = _path(name).with_name(_path(name).name + ".reached")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reached.exists() and reached.read_text():
            return dict(json.loads(reached.read_text()))
        time.sleep(0.2)
    raise TimeoutError(f"no process reached the fault point {name} in {timeout:.0f} s")
