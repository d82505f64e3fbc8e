"""``services.pid_of``: whether the process a pid file names still runs."""

from __future__ import annotations

import subprocess
import sys
import time

from include.deploy.services import pid_of


def test_a_running_process_counts_and_its_program_is_checked(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "p.pid").write_text(str(process.pid))
        assert pid_of(tmp_path / "p.pid") == process.pid
        assert pid_of(tmp_path / "p.pid", b"python") == process.pid
        assert pid_of(tmp_path / "p.pid", b"gunicorn") is None
    finally:
        process.kill()
        process.wait()


def test_a_zombie_an_empty_file_and_a_missing_one_do_not(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # exited, but not reaped: a zombie, which os.kill(pid, 0) still finds
        with open(f"/proc/{process.pid}/stat", encoding="ascii") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.05)
    (tmp_path / "z.pid").write_text(str(process.pid))
    assert pid_of(tmp_path / "z.pid") is None
    process.wait()
    (tmp_path / "empty.pid").write_text("")
    assert pid_of(tmp_path / "empty.pid") is None  # not pid 0: that would be our own process group
    assert pid_of(tmp_path / "missing.pid") is None
