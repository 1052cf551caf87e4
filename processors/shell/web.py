"""A processor worker's HTTP endpoints: ``/healthz``, ``/readyz`` and ``/metrics``.

faust's own web server stays off (``web_enabled=False``): it would serve faust's pages,
not these, and one server per worker is enough. ``/healthz`` answers while the event
loop runs; ``/readyz`` asks every role (each batch consumer joined its group with
partitions; the index role also reaches OpenSearch; the alerting app finished its
rebalance); ``/metrics`` is :data:`processors.shell.counters.REGISTRY`.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bitacora.errors import ConfigError
from bitacora.processors.shell.counters import REGISTRY
from bitacora.settings import Settings

log = logging.getLogger("bitacora.processor")

# A readiness check: None when ready, else a one-line reason.
Check = Callable[[], Awaitable[str | None]]


async def readiness(checks: Sequence[Check]) -> list[str]:
    """The reasons this worker is not ready (empty: ready)."""
    problems = []
    for check in checks:
        problem = await check()
        if problem is not None:
            problems.append(problem)
    return problems


class WebService(Service):
    """The aiohttp server of one worker, on ``bind_host:processor_http_port``."""

    def __init__(self, settings: Settings, checks: Sequence[Check]) -> None:
        super().__init__()
        self.settings = settings
        self.checks = list(checks)
        self.port = 0
        self._sock: socket.socket | None = None
        self._runner: web.AppRunner | None = None

    def listen(self) -> None:
        """Bind the port now (before the worker starts), so a taken port is one clear error."""
        host, port = self.settings.bind_host, self.settings.processor_http_port
        try:
            self._sock = socket.create_server((host, port), reuse_port=False)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} for /healthz, /readyz and /metrics "
                f"({os.strerror(exc.errno) if exc.errno else exc}): "
                "set BITACORA_PROCESSOR_HTTP_PORT to a free port"
            ) from None
        self._sock.setblocking(False)
        self.port = self._sock.getsockname()[1]

    def app(self) -> web.Application:
        """The routes: /healthz, /readyz, /metrics."""
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        return app

    async def on_start(self) -> None:
        """Bind the port (first, so probes answer while the roles start)."""
        if self._sock is None:
            self.listen()
        assert self._sock is not None
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()
        log.info("processor HTTP on %s:%d", self.settings.bind_host, self.port)

    async def on_stop(self) -> None:
        """Close the server."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def healthz(self, _request: web.Request) -> web.Response:
        """Alive: the event loop answers."""
        return web.Response(text="ok\n")

    async def readyz(self, _request: web.Request) -> web.Response:
        """200 when every role is ready, else 503 with the reasons, one a line."""
        problems = await readiness(self.checks)
        if problems:
            return web.Response(status=503, text="\n".join(problems) + "\n")
        return web.Response(text="ready\n")

    async def metrics(self, _request: web.Request) -> web.Response:
        """The Prometheus exposition of the processor's registry."""
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
