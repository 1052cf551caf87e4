"""``bitacora run``: the collector, the processor and (optionally) the demo on one machine.

Each component runs as its own child process, exactly as it would when scaled out, and the
parent shows a live status line read from Kafka and OpenSearch. Ctrl-C, SIGTERM and a
closed terminal (SIGHUP) stop every child (SIGTERM, then SIGKILL after a grace period);
children also stop when the parent dies (:mod:`bitacora.supervise`). A child that exits
is reported and restarted with backoff, or the run stops when it keeps exiting.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from typing import TextIO

from bitacora import schema
from bitacora.errors import ConfigError, ConnectionRefusedByPeer, StackError
from bitacora.settings import Settings
from bitacora.status import format_status, read_status
from bitacora.supervise import Child, check_children, stop_all
from bitacora.ui.config import UiConfig, check_exposure


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
    # Each processor serves /healthz, /readyz and /metrics on its own port.
    children = [Child("collector", component_argv("collector"))] + [
        Child(
            f"processor-{role}",
            component_argv("processor", "--role", role),
            env={"BITACORA_PROCESSOR_HTTP_PORT": str(settings.processor_http_port + i)},
        )
        for i, role in enumerate(schema.PROCESSOR_ROLES)
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
    stopping: list[str] = []

    def _stop(signum: int, _frame: object) -> None:
        stopping.append(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop)
    for child in children:
        child.start(log_dir)
    out.write(
        f"Bitácora running: forward :{settings.forward_port}, HTTP :{settings.http_port}, "
        f"OTLP :{settings.otlp_http_port} (HTTP) :{settings.otlp_grpc_port} (gRPC), "
        f"syslog :{settings.syslog_port}, OpenSearch {settings.opensearch_url}. "
        f"Logs in {log_dir}. Ctrl-C stops.\n"
        f"Console: {console.url}\n"
    )
    start = time.monotonic()
    tty = out.isatty()
    last_line = 0.0
    failure: str | None = None
    try:
        while not stopping and (duration_s is None or time.monotonic() - start < duration_s):
            failure = check_children(children, log_dir, out)
            if failure is not None:
                break
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
        why = f" ({stopping[0]})" if stopping else ""
        try:
            out.write(f"\nstopping{why}…\n")
            out.flush()
        except OSError:  # the terminal is gone (SIGHUP): stop the children all the same
            pass
        stop_all(children)
    if failure is not None:
        out.write(failure + "\n")
        return 1
    return 0
