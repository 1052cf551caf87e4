"""``bitacora collector``: forward (:24224), HTTP (:9880), OTLP (:4318, :4317) and syslog
(:5514, TLS :6514) in, Kafka out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import click

from bitacora.cli.options import loglevel_option
from bitacora.settings import Settings

PORT = click.IntRange(0, 65535)


@click.command(
    "collector", short_help="Receive logs (forward, HTTP, OTLP, syslog, files) into Kafka."
)
@click.option("--bind-host", default=None, help="Address to listen on [BITACORA_BIND_HOST].")
@click.option(
    "--forward-port",
    type=PORT,
    default=None,
    help="Forward port, TCP+UDP [BITACORA_FORWARD_PORT].",
)
@click.option("--http-port", type=PORT, default=None, help="HTTP port [BITACORA_HTTP_PORT].")
@loglevel_option("info")
def collector(
    bind_host: str | None, forward_port: int | None, http_port: int | None, loglevel: str
) -> None:
    """Receive logs (Fluentd forward, HTTP, OTLP, syslog) and publish them to Kafka.

    Other ports: BITACORA_OTLP_HTTP_PORT, BITACORA_OTLP_GRPC_PORT, BITACORA_SYSLOG_PORT,
    BITACORA_SYSLOG_TLS_PORT (with BITACORA_TLS_CERT_FILE). A sender's chunk is acknowledged
    only once Kafka holds every event of it; while Kafka is unreachable, forward connections
    get no ack and HTTP and OTLP answer 503. SIGTERM or Ctrl-C stop accepting, flush what
    was received and exit. Metrics: GET /metrics on the HTTP port.
    """
    from bitacora.collector.app import run_collector
    from bitacora.eventloop import use_event_loop
    from bitacora.gctune import tune_for_streaming

    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    overrides: dict[str, Any] = {
        "bind_host": bind_host,
        "forward_port": forward_port,
        "http_port": http_port,
    }
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        # A signal cancels us; run_collector has shut down gracefully by then.
        with contextlib.suppress(asyncio.CancelledError):
            await run_collector(settings)

    tune_for_streaming()
    use_event_loop(settings.event_loop)
    asyncio.run(main())  # a ConfigError (e.g. a busy port) becomes one line in cli.errors


COMMANDS: list[click.Command] = [collector]
