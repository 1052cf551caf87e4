"""Pid files and process recognition (on real, harmless child processes)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bitacora.stack import procs


def _wait_for_line(log: Path, line: str) -> None:
    deadline = time.monotonic() + 20
    while procs.tail(log) != line:
        assert time.monotonic() < deadline, f"{log} never said {line!r}"
        time.sleep(0.02)


def test_parse_pid() -> None:
    assert procs.parse_pid("1234\n") == 1234
    assert procs.parse_pid("  42 extra") == 42
    assert procs.parse_pid("") is None
    assert procs.parse_pid("abc") is None
    assert procs.parse_pid("0") is None
    assert procs.parse_pid("-5") is None


def test_proc_state_handles_spaces_and_parens_in_comm() -> None:
    assert procs.proc_state("123 (java) S 1 2 3") == "S"
    assert procs.proc_state("123 (a b) c)) Z 1 2") == "Z"


def test_read_pid_missing_file(tmp_path: Path) -> None:
    assert procs.read_pid(tmp_path / "nope.pid") is None


def test_owned_pid_removes_a_stale_file(tmp_path: Path) -> None:
    pid_file = tmp_path / "x.pid"
    pid_file.write_text(f"{os.getpid()}\n")  # alive, but without the marker: not ours
    assert procs.owned_pid(pid_file, "/definitely/not/in/pytest/cmdline") is None
    assert not pid_file.exists()


def test_start_recognise_and_terminate_a_detached_child(tmp_path: Path) -> None:
    marker = str(tmp_path / "marker-arg")
    pid_file = tmp_path / "child.pid"
    log = tmp_path / "logs" / "child.out"
    argv = [sys.executable, "-c", "import sys, time; print('hello', flush=True); time.sleep(60)"]
    pid = procs.start_detached([*argv, marker], dict(os.environ), tmp_path, log, pid_file)
    assert procs.read_pid(pid_file) == pid
    assert procs.owned_pid(pid_file, marker) == pid
    assert os.getpgid(pid) == pid  # own session and process group
    _wait_for_line(log, "hello")
    assert procs.terminate(pid, marker, deadline_s=10) is False  # SIGTERM was enough
    assert not procs.is_alive(pid)


def test_terminate_kills_after_the_deadline(tmp_path: Path) -> None:
    marker = str(tmp_path / "stubborn")
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    pid = procs.start_detached(
        [sys.executable, "-c", code, marker],
        dict(os.environ),
        tmp_path,
        tmp_path / "o.log",
        tmp_path / "p.pid",
    )
    _wait_for_line(tmp_path / "o.log", "ready")  # the SIGTERM handler is installed
    procs.terminate(pid, "not-the-marker", deadline_s=0.1)  # not ours: untouched
    assert procs.is_alive(pid)
    assert procs.terminate(pid, marker, deadline_s=0.5) is True
    assert not procs.is_alive(pid)


def test_tail_of_missing_file(tmp_path: Path) -> None:
    assert procs.tail(tmp_path / "missing.log") == ""
