"""Run components as subprocesses and read their CPU time and peak memory from ``/proc``."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BITACORA = str(Path(sys.executable).with_name("bitacora"))


_PORTS_GIVEN: set[int] = set()
_PICK = random.Random()  # its own generator: a benchmark's seed must not repeat the picks


def free_port(offsets: tuple[int, ...] = (0,)) -> int:
    """A port ``p`` on 127.0.0.1 with ``p + offset`` unused right now for every offset (the
    ports a stack service derives from its base), for TCP and for UDP, that stay free
    until a test's server binds them, and again while a test keeps that server stopped.

    A port the kernel picks (``bind(("127.0.0.1", 0))``) comes from the ephemeral range
    that every outgoing connection also takes its source port from: between the pick and
    the server's bind, or while a test's Kafka is down, a client connection can take it
    ("address already in use"). So the ports are drawn beside that range, where the kernel
    never hands out source ports, and never twice in one process."""
    around = outside_ephemeral_range(ephemeral_range())
    candidates = around[: len(around) - max(offsets)]
    for _ in range(200):
        port = _PICK.choice(candidates)
        ports = [port + offset for offset in offsets]
        if _PORTS_GIVEN.isdisjoint(ports) and all(map(_bindable, ports)):
            _PORTS_GIVEN.update(ports)
            return port
    raise RuntimeError(f"no free ports at offsets {offsets} in {around}; what holds them?")


def ephemeral_range(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> range:
    """The ports the kernel hands out as source ports and for ``bind(0)``."""
    try:
        low, high = (int(part) for part in path.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return range(low, high + 1)


def outside_ephemeral_range(ephemeral: range) -> range:
    """The larger run of unprivileged ports on either side of ``ephemeral``, at most
    10,000 of them, below it when it leaves room there."""
    below = range(max(1024, ephemeral.start - 10_000), ephemeral.start)
    above = range(ephemeral.stop, min(65536, ephemeral.stop + 10_000))
    return below if len(below) >= len(above) else above


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            if kind == socket.SOCK_STREAM:  # as TCP servers bind: past TIME_WAIT leftovers
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process ``pid`` itself (utime + stime)."""
    return parse_cpu_ticks(Path(f"/proc/{pid}/stat").read_text()) / CLOCK_TICKS


def precise_cpu_seconds(pid: int) -> float:
    """CPU seconds of the process ``pid`` to the nanosecond: the sum over its live threads of
    the scheduler's run time (``/proc/<pid>/task/*/schedstat``); ``cpu_seconds`` (10 ms
    ticks) when the kernel keeps no schedstat."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except FileNotFoundError:
                continue  # a thread that ended meanwhile
    except FileNotFoundError:
        return cpu_seconds(pid)
    return total / 1e9 if total else cpu_seconds(pid)


def parse_cpu_ticks(stat: str) -> int:
    """utime + stime, in clock ticks, from the text of ``/proc/<pid>/stat``."""
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_port(port: int, deadline_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll until something accepts TCP connections on 127.0.0.1:``port``."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {deadline_s} s")


@dataclass
class Component:
    """One ``bitacora <args>`` subprocess (or ``program <args>``) with its own environment
    and log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _log: object = field(default=None, repr=False)
    program: str = BITACORA

    def start(self) -> Component:
        """Start the process (its output goes to ``log_path``)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self._log = log
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            [self.program, *self.args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Own session: a signal meant for the runner's process group (Ctrl-C, a
            # timeout) must not reach the components, nor theirs the runner.
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        """The process id (the process must have been started)."""
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def cpu(self) -> float:
        """CPU seconds used so far."""
        return cpu_seconds(self.pid)

    def precise_cpu(self) -> float:
        """CPU seconds used so far, to the nanosecond (``precise_cpu_seconds``)."""
        return precise_cpu_seconds(self.pid)

    def peak_rss_mib(self) -> float:
        """Peak resident memory so far, MiB."""
        return peak_rss_mib(self.pid)

    def pause(self) -> None:
        """SIGSTOP: the process stops running (and spending CPU) until :meth:`resume`."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no goodbye, as in a crash."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout_s``; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None
        return self.proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the component's output, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
