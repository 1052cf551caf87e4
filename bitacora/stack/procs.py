"""Detached processes tracked by pid files: start, recognise, stop — nothing else is touched.

A pid alone is not proof: after a reboot the number may belong to anything. A process is
ours only when it is alive and its command line contains the service's marker (a path
inside our state directory), so ``down`` can never kill a stranger.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# Popen objects of children this interpreter started: kept so they are reaped (no zombies,
# no ResourceWarning) when a long-lived caller such as pytest stops them again.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def parse_pid(text: str) -> int | None:
    """The pid in a pid file's text, or None when it holds no positive integer."""
    token = text.strip().split()[0] if text.strip() else ""
    return int(token) if token.isdigit() and int(token) > 0 else None


def read_pid(path: Path) -> int | None:
    """The pid stored in ``path``; None when the file is missing or garbage."""
    try:
        return parse_pid(path.read_text())
    except OSError:
        return None


def proc_state(stat_line: str) -> str:
    """The state letter from a ``/proc/<pid>/stat`` line (the comm field may hold spaces)."""
    return stat_line.rsplit(")", 1)[1].split()[0]


def is_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie counts as dead (and is reaped if it is our child)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return proc_state(stat) not in ("Z", "X")


def cmdline(pid: int) -> str:
    """The command line of ``pid`` with arguments separated by spaces ("" when gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def is_ours(pid: int, marker: str) -> bool:
    """Alive and carrying ``marker`` in its command line."""
    return is_alive(pid) and marker in cmdline(pid)


def owned_pid(pid_file: Path, marker: str) -> int | None:
    """The pid from ``pid_file`` if that process is ours and alive; a stale file is removed."""
    pid = read_pid(pid_file)
    if pid is not None and is_ours(pid, marker):
        return pid
    with contextlib.suppress(FileNotFoundError):
        pid_file.unlink()
    return None


def start_detached(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path, log_file: Path, pid_file: Path
) -> int:
    """Start ``argv`` in its own session (Ctrl-C of the caller does not reach it), output
    appended to ``log_file``; write and return its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def terminate(pid: int, marker: str, deadline_s: float = 60.0) -> bool:
    """SIGTERM our process group, SIGKILL it after ``deadline_s``; True if it had to be killed.

    The process was started as a session leader, so its group holds exactly its children
    (OpenSearch's launcher scripts, the JVM) and nothing of anyone else.
    """
    if not is_ours(pid, marker):
        return False
    _signal_group(pid, signal.SIGTERM)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if not is_alive(pid):
            return False
        time.sleep(0.2)
    _signal_group(pid, signal.SIGKILL)
    end = time.monotonic() + 10
    while is_alive(pid) and time.monotonic() < end:
        time.sleep(0.1)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file ("" when it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])
