"""Peak memory of every process of a benchmark stage: the embedded PostgreSQL, Airflow's services and workers,
and the driver itself.

A stage's processes are those whose environment names its state folder (``SQW_STATE_DIR``), and all their
descendants: PostgreSQL's backends and Airflow's task processes overwrite the environment they started with
when they retitle themselves, so it no longer names anything. Memory is the proportional set size (PSS), so
the PostgreSQL server's shared buffers count once across its backends instead of once per backend, as RSS
would.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

PROC = Path("/proc")


def _pss_kib(pid: str) -> int:
    try:
        rollup = (PROC / pid / "smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)


def _in_stage(pid: str, marker: bytes) -> bool:
    try:
        return marker in (PROC / pid / "environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _parent(pid: str) -> str:
    try:
        return (PROC / pid / "stat").read_text().rsplit(")", 1)[1].split()[1]
    except (OSError, IndexError):
        return "0"


def stage_pss_mib(state_dir: str) -> float:
    """The summed PSS of the processes running in the stage whose state folder is ``state_dir``, in MiB."""
    marker = f"SQW_STATE_DIR={state_dir}".encode()
    pids = [entry.name for entry in PROC.iterdir() if entry.name.isdigit()]
    children: dict[str, list[str]] = {}
    for pid in pids:
        children.setdefault(_parent(pid), []).append(pid)
    stage, todo = set(), [pid for pid in pids if _in_stage(pid, marker)]
    while todo:
        pid = todo.pop()
        if pid not in stage:
            stage.add(pid)
            todo += children.get(pid, [])
    return sum(_pss_kib(pid) for pid in stage) / 1024


class Peak:
    """``with Peak() as peak:`` samples this stage's memory every ``interval`` seconds; ``peak.mib`` is the
    highest sum seen (each phase of a stage takes a ``Peak`` of its own)."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.mib = 0.0
        self._state = os.environ["SQW_STATE_DIR"]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.mib = max(self.mib, stage_pss_mib(self._state))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
