"""The collector process: forward, HTTP, OTLP, syslog (and file) sources over one publisher.

``run_collector`` runs inside an existing event loop (``bitacora collector`` and
``bitacora run`` own the loop and the signal handlers): it starts everything, sets
``ready``, and on cancellation stops accepting, lets submitted requests reach Kafka and be
acknowledged, and closes.
"""

from __future__ import annotations

import asyncio
import logging

from bitacora.collector.budget import ByteBudget
from bitacora.collector.forward.handshake import load_users
from bitacora.collector.forward.server import ForwardServer
from bitacora.collector.http import HttpSource
from bitacora.collector.metrics import CollectorMetrics
from bitacora.collector.otlp.grpc_server import OtlpGrpcServer
from bitacora.collector.otlp.http_server import OtlpHttpServer
from bitacora.collector.otlp.ingest import OtlpIngest
from bitacora.collector.publisher import Publisher
from bitacora.collector.syslog.server import SyslogServer
from bitacora.collector.tail.follower import TailConfig, TailSource
from bitacora.errors import ConfigError
from bitacora.settings import Settings

log = logging.getLogger(__name__)


class Collector:
    """The sources + publisher with explicit start/stop (tests use this).

    After ``start`` the bound ports are in ``forward_port``, ``http_port``, ``otlp.port``,
    ``otlp_grpc.port``, ``syslog.port`` and ``syslog.tls_port`` (useful with port 0).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = CollectorMetrics()
        self.publisher = Publisher(settings, self.metrics)
        users: dict[bytes, bytes] = {}
        if settings.forward_users_file is not None:
            if settings.forward_shared_key is None:
                raise ConfigError("forward_users_file needs forward_shared_key (the handshake)")
            users = load_users(settings.forward_users_file)
        budget = ByteBudget(settings.max_inflight_bytes)
        self.forward = ForwardServer(settings, self.publisher, self.metrics, users, budget)
        self.http = HttpSource(settings, self.publisher, self.metrics, budget)
        ingest = OtlpIngest(settings, self.publisher, self.metrics, budget)
        self.otlp = OtlpHttpServer(settings, ingest)
        self.otlp_grpc = OtlpGrpcServer(settings, ingest)
        self.syslog = SyslogServer(settings, self.publisher, self.metrics, budget)
        self._inputs = (
            ("forward", "FORWARD_PORT", self.forward),
            ("HTTP", "HTTP_PORT", self.http),
            ("OTLP/HTTP", "OTLP_HTTP_PORT", self.otlp),
            ("OTLP/gRPC", "OTLP_GRPC_PORT", self.otlp_grpc),
            ("syslog", "SYSLOG_PORT or BITACORA_SYSLOG_TLS_PORT", self.syslog),
        )
        self.tail: TailSource | None = None  # the file input, when BITACORA_TAIL_PATHS is set
        if settings.tail_paths:
            config = TailConfig.from_settings(settings)
            self.tail = TailSource(config, self.publisher, self.metrics)

    @property
    def forward_port(self) -> int:
        """The bound forward (TCP and UDP) port."""
        return self.forward.port

    @property
    def http_port(self) -> int:
        """The bound HTTP port."""
        return self.http.port

    async def start(self) -> None:
        """Connect the publisher (or keep retrying in the background) and open both ports."""
        await self.publisher.start()
        for name, variable, source in self._inputs:
            try:
                await source.start()
            except (OSError, RuntimeError) as exc:  # grpc reports a busy port as RuntimeError
                raise ConfigError(
                    f"cannot listen for {name} on {self.settings.bind_host}: {exc}; "
                    f"free the port or set BITACORA_{variable}"
                ) from exc
        if self.tail is not None:
            await self.tail.start()
        log.info(
            "collector listening on %s: forward %d, HTTP %d, OTLP/HTTP %d, OTLP/gRPC %d,"
            " syslog %d%s, Kafka %s",
            self.settings.bind_host,
            self.forward_port,
            self.http_port,
            self.otlp.port,
            self.otlp_grpc.port,
            self.syslog.port,
            f", syslog TLS {self.syslog.tls_port}" if self.syslog.tls_port else "",
            self.settings.kafka_bootstrap,
        )

    async def stop(self) -> None:
        """Stop accepting, flush what was submitted, close."""
        if self.tail is not None:
            await self.tail.stop()
        for _, _, source in self._inputs:
            await source.stop()
        await self.publisher.stop()


async def run_collector(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    """Serve until cancelled; then shut down gracefully (no signal handlers here)."""
    collector = Collector(settings)
    try:
        await collector.start()
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()  # forever, until cancelled
    finally:
        await asyncio.shield(collector.stop())
