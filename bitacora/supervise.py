"""Child processes that never outlive their supervisor (``bitacora run``).

Two guards, since either alone has a gap:

- the child asks Linux for a parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGTERM)``)
  before it executes, and exits at once if the parent already died in between;
- the child's CLI watches its parent pid (``BITACORA_SUPERVISOR_PID``, set by the
  supervisor) and stops itself with SIGTERM when it changes (other systems, or a
  supervisor thread that forked and exited), then ends itself if that graceful stop
  takes longer than ``ORPHAN_GRACE_S``.

A child that exits on its own is restarted after :func:`restart_delay`; one that keeps
exiting quickly makes the run stop with a message naming its log.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

PR_SET_PDEATHSIG = 1
SUPERVISOR_PID_ENV = "BITACORA_SUPERVISOR_PID"
# A child that exits this many times, each within STABLE_S of its start, stops the run.
MAX_QUICK_EXITS = 5
STABLE_S = 60.0
# How long an orphaned child may take to stop gracefully before it is ended.
ORPHAN_GRACE_S = 30.0


def restart_delay(quick_exits: int) -> float:
    """Seconds to wait before restarting a child that exited ``quick_exits`` times in a row."""
    return float(min(30, 2 ** max(0, quick_exits - 1)))


def _die_with_parent(parent: int) -> None:  # runs in the child between fork and exec
    libc_name = ctypes.util.find_library("c")
    if libc_name is not None:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def watch_parent(parent: int, interval_s: float = 0.5, grace_s: float = ORPHAN_GRACE_S) -> None:
    """Send this process SIGTERM once its parent is no longer ``parent``, and end it
    ``grace_s`` later if its graceful stop has not (a daemon thread).

    An orphan must not linger: what it had not committed is read again by the next run
    (acknowledged only once stored; deterministic event ids absorb the repeat).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_s)
        os._exit(1)  # the graceful stop hung

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@dataclass
class Child:
    """A supervised component process."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # added to this process's environment
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    quick_exits: int = 0
    started_at: float = 0.0
    restart_at: float | None = None  # when a pending restart is due
    log_path: str = ""
    log: TextIO | None = field(default=None, repr=False)

    def start(self, log_dir: str) -> None:
        """Start (or restart) the process, its output appended to a log file."""
        self.log_path = os.path.join(log_dir, f"{self.name}.log")
        if self.log is None:
            self.log = open(self.log_path, "a", buffering=1)  # noqa: SIM115 (lives as long as the child)
        parent = os.getpid()
        env = {**os.environ, **self.env, SUPERVISOR_PID_ENV: str(parent)}
        self.process = subprocess.Popen(
            self.argv,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # the terminal's Ctrl-C reaches the supervisor only
            preexec_fn=lambda: _die_with_parent(parent),
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    def exited(self) -> int | None:
        """The exit code once the process ended (None while it runs or none was started)."""
        return None if self.process is None else self.process.poll()

    def signal(self, signum: int) -> None:
        """Send ``signum`` if the process still runs."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    def close_log(self) -> None:
        """Close the log file."""
        if self.log is not None:
            self.log.close()
            self.log = None


def stop_all(children: list[Child], grace_s: float = 15.0) -> None:
    """SIGTERM to every child at once, wait up to ``grace_s`` in all, then SIGKILL."""
    for child in children:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
    for child in children:
        child.close_log()


def check_children(
    children: list[Child],
    log_dir: str,
    out: TextIO,
    delay_of: Callable[[int], float] = restart_delay,
) -> str | None:
    """Restart children that exited (after their backoff); a reason to stop the run, or None."""
    now = time.monotonic()
    for child in children:
        code = child.exited()
        if code is None:
            continue
        if child.restart_at is None:
            quick = now - child.started_at < STABLE_S
            child.quick_exits = child.quick_exits + 1 if quick else 1
            if child.quick_exits >= MAX_QUICK_EXITS:
                return (
                    f"{child.name} exited with {code} {child.quick_exits} times in a row, each "
                    f"within {STABLE_S:.0f}s of starting: stopping (see {child.log_path})"
                )
            delay = delay_of(child.quick_exits)
            child.restart_at = now + delay
            out.write(
                f"\n{child.name} exited with {code}; restarting in {delay:.0f}s "
                f"(see {child.log_path})\n"
            )
        elif now >= child.restart_at:
            child.restarts += 1
            child.start(log_dir)
    return None
