"""Restarts with backoff, and the stop when a child keeps exiting (real child processes)."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

from bitacora.supervise import MAX_QUICK_EXITS, Child, check_children, restart_delay, stop_all


def test_restart_delay_doubles_up_to_thirty_seconds() -> None:
    assert [restart_delay(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def _wait_exit(child: Child) -> int:
    assert child.process is not None
    return child.process.wait(30)


def test_a_child_that_keeps_exiting_is_restarted_then_stops_the_run(tmp_path: Path) -> None:
    child = Child("flaky", [sys.executable, "-c", "raise SystemExit(3)"])
    child.start(str(tmp_path))
    out = io.StringIO()
    pids = set()
    failure = None
    deadline = time.monotonic() + 60
    while failure is None:
        assert time.monotonic() < deadline
        assert child.process is not None
        pids.add(child.process.pid)
        _wait_exit(child)
        failure = check_children([child], str(tmp_path), out, delay_of=lambda _n: 0.0)
        if failure is None:
            failure = check_children([child], str(tmp_path), out, delay_of=lambda _n: 0.0)
    stop_all([child])
    assert child.restarts == MAX_QUICK_EXITS - 1
    assert len(pids) == MAX_QUICK_EXITS
    assert out.getvalue().count("flaky exited with 3; restarting in 0s") == MAX_QUICK_EXITS - 1
    assert failure == (
        f"flaky exited with 3 {MAX_QUICK_EXITS} times in a row, each within 60s of starting: "
        f"stopping (see {tmp_path / 'flaky.log'})"
    )


def test_a_restart_waits_for_its_backoff(tmp_path: Path) -> None:
    child = Child("once", [sys.executable, "-c", "raise SystemExit(0)"])
    child.start(str(tmp_path))
    _wait_exit(child)
    out = io.StringIO()
    assert check_children([child], str(tmp_path), out, delay_of=lambda _n: 3600.0) is None
    assert check_children([child], str(tmp_path), out, delay_of=lambda _n: 3600.0) is None
    assert child.restarts == 0  # still waiting: restarted only once the delay passed
    assert "once exited with 0; restarting in 3600s" in out.getvalue()
    stop_all([child])


def test_an_orphan_whose_graceful_stop_hangs_is_ended(tmp_path: Path) -> None:
    # middle starts child and dies; child ignores SIGTERM (a hung graceful stop).
    child_code = (
        "import os, signal, sys, time\n"
        "from bitacora.supervise import watch_parent\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "watch_parent(os.getppid(), interval_s=0.05, grace_s=0.5)\n"
        "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
        "time.sleep(120)\n"
    )
    ready = tmp_path / "child.pid"
    middle_code = (
        "import os, subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {child_code!r}, {str(ready)!r}])\n"
        f"while not os.path.exists({str(ready)!r}): time.sleep(0.05)\n"
    )
    middle = subprocess.run([sys.executable, "-c", middle_code], timeout=60, check=True)
    assert middle.returncode == 0
    pid = int(ready.read_text())
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and "State:\tZ" not in _status(pid):
        assert time.monotonic() < deadline, "the orphan outlived its grace"
        time.sleep(0.05)


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return ""
