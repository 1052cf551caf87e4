"""``bitacora run``: the collector, the processor and (optionally) the demo on one machine.

Each component runs as its own child process, exactly as it would when scaled out, and the
parent shows a live status line read from Kafka and OpenSearch. Ctrl-C stops every child
(SIGTERM, then SIGKILL after a grace period); a child that dies is reported and restarted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from bitacora import schema
from bitacora.errors import ConfigError, ConnectionRefusedByPeer, StackError
from bitacora.settings import Settings
from bitacora.status import format_status, read_status
from bitacora.ui.config import UiConfig, check_exposure


@dataclass
class Child:
    """A supervised component process."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    log_path: str = ""
    log: TextIO | None = field(default=None, repr=False)

    def start(self, log_dir: str) -> None:
        """Start (or restart) the process, its output appended to a log file."""
        self.log_path = os.path.join(log_dir, f"{self.name}.log")
        if self.log is None:
            self.log = open(self.log_path, "a", buffering=1)  # noqa: SIM115 (lives as long as the child)
        self.process = subprocess.Popen(
            self.argv, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM, wait up to ``grace_s``, then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def component_argv(*args: str) -> list[str]:
    """The command line of a Bitácora component run with this interpreter."""
    return [sys.executable, "-m", "bitacora", *args]


def run_pipeline(
    settings: Settings, *, demo: bool, demo_rate: int, duration_s: float | None, out: TextIO
) -> int:
    """Run until Ctrl-C (or ``duration_s``); returns the exit code.

    Raises ``StackError`` when Kafka cannot be reached at the start.
    """
    log_dir = str(settings.state_dir / "run")
    os.makedirs(log_dir, exist_ok=True)
    # One processor process per role: a Python process uses one core, and a stalled role
    # (OpenSearch down) never holds the others up.
    children = [Child("collector", component_argv("collector"))] + [
        Child(f"processor-{role}", component_argv("processor", "--role", role))
        for role in schema.PROCESSOR_ROLES
    ]
    children.append(Child("ui", component_argv("ui")))
    if demo:
        children.append(Child("demo", component_argv("demo", "--rate", str(demo_rate))))
    console = UiConfig.from_settings(settings)
    try:
        check_exposure(console)
    except ConfigError as exc:
        out.write(f"error: {exc}\n")
        return 2
    try:
        baseline = asyncio.run(read_status(settings))
    except ConnectionRefusedByPeer:  # credentials or certificate: its message says which
        raise
    except Exception as exc:  # aiokafka raises its own and OS errors alike
        raise StackError(
            f"Kafka at {settings.kafka_bootstrap} is not reachable ({exc}): start the local stack "
            "with `bitacora stack up` (or `make run`), or set BITACORA_KAFKA_BOOTSTRAP"
        ) from exc
    for child in children:
        child.start(log_dir)
    out.write(
        f"Bitácora running: forward :{settings.forward_port}, HTTP :{settings.http_port}, "
        f"OTLP :{settings.otlp_http_port} (HTTP) :{settings.otlp_grpc_port} (gRPC), "
        f"syslog :{settings.syslog_port}, OpenSearch {settings.opensearch_url}. "
        f"Logs in {log_dir}. Ctrl-C stops.\n"
        f"Console: {console.url}\n"
    )
    stopping = False

    def _stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    start = time.monotonic()
    tty = out.isatty()
    last_line = 0.0
    try:
        while not stopping and (duration_s is None or time.monotonic() - start < duration_s):
            for child in children:
                assert child.process is not None
                code = child.process.poll()
                if code is not None:
                    out.write(
                        f"\n{child.name} exited with {code}; restarting (see {child.log_path})\n"
                    )
                    child.restarts += 1
                    child.start(log_dir)
            try:
                status = asyncio.run(read_status(settings))
                line = format_status(status, baseline, time.monotonic() - start)
            except Exception as exc:  # status is best effort: Kafka may be restarting
                line = f"status unavailable: {exc}"
            if tty:
                out.write("\r\033[K" + line)
                out.flush()
            elif time.monotonic() - last_line >= 5:
                out.write(line + "\n")
                out.flush()
                last_line = time.monotonic()
            time.sleep(1.0)
    finally:
        out.write("\nstopping…\n")
        for child in reversed(children):
            child.stop()
            if child.log is not None:
                child.log.close()
    return 0
