"""Run Bitácora components as real child processes for end-to-end and fault tests.

Every pipeline gets its own topics, consumer groups, ports and state directory, so tests
never see each other's records; data streams are shared, so tests use unique service names.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@dataclass
class Pipeline:
    """Names, ports and processes of one isolated pipeline."""

    kafka_bootstrap: str
    opensearch_url: str
    workdir: Path
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    forward_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    partitions: int = 3
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The environment every component of this pipeline runs with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("BITACORA_")}
        env.update(
            BITACORA_KAFKA_BOOTSTRAP=self.kafka_bootstrap,
            BITACORA_OPENSEARCH_URL=self.opensearch_url,
            BITACORA_APP_ID=f"bitacora-t{self.suffix}",
            BITACORA_TOPIC_RAW=f"logs.raw.t{self.suffix}",
            BITACORA_TOPIC_NORMALIZED=f"logs.normalized.t{self.suffix}",
            BITACORA_TOPIC_DEADLETTER=f"logs.deadletter.t{self.suffix}",
            BITACORA_TOPIC_ALERTS=f"alerts.t{self.suffix}",
            BITACORA_TOPIC_PARTITIONS=str(self.partitions),
            BITACORA_FORWARD_PORT=str(self.forward_port),
            BITACORA_HTTP_PORT=str(self.http_port),
            BITACORA_PROCESSOR_DATA_DIR=str(self.workdir / "faust"),
            BITACORA_STATE_DIR=str(self.workdir / "state"),
            BITACORA_BULK_MAX_WAIT_S="0.2",
        )
        env.update(self.extra_env)
        return env

    def run_cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a ``bitacora`` command to completion with this pipeline's environment."""
        return subprocess.run(
            [sys.executable, "-m", "bitacora", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start a component (e.g. ``start("processor-1", "processor")``) in the background."""
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [sys.executable, "-m", "bitacora", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def start_collector(self, name: str = "collector") -> subprocess.Popen[bytes]:
        """Start the collector and wait until its forward port accepts connections."""
        process = self.start(name, "collector")
        wait_for(lambda: self._port_open(self.forward_port), timeout=30, what="the collector")
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a component and wait for it to exit."""
        process = self.processes.pop(name)
        process.send_signal(sig)
        process.wait(30)

    def stop_all(self) -> None:
        """Terminate every component still running."""
        for name in list(self.processes):
            process = self.processes.pop(name)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def log_tail(self, name: str, lines: int = 40) -> str:
        """The last lines a component wrote, for failure messages."""
        path = self.workdir / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    @staticmethod
    def _port_open(port: int) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running_pipeline(
    kafka_bootstrap: str, opensearch_url: str, workdir: Path, **kw: Any
) -> Iterator[Pipeline]:
    """An isolated pipeline, set up, whose processes are stopped on exit."""
    pipeline = Pipeline(kafka_bootstrap, opensearch_url, workdir, **kw)
    pipeline.run_cli("setup")
    try:
        yield pipeline
    finally:
        pipeline.stop_all()
