"""The processor's HTTP service: its answers, and one clear error for a taken port."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from bitacora.errors import ConfigError
from bitacora.processors.shell.web import WebService
from bitacora.settings import Settings


async def _ready() -> str | None:
    return None


async def _joining() -> str | None:
    return "index: no partitions assigned yet"


async def _no_opensearch() -> str | None:
    return "OpenSearch unreachable (ClientConnectorError)"


async def _get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text()


async def test_healthz_readyz_and_metrics() -> None:
    service = WebService(Settings(processor_http_port=0), [_ready, _joining, _no_opensearch])
    service.listen()  # as run_worker does before the worker starts
    await service.start()
    try:
        assert service.port > 0
        assert await _get(service.port, "/healthz") == (200, "ok\n")
        assert await _get(service.port, "/readyz") == (
            503,
            "index: no partitions assigned yet\nOpenSearch unreachable (ClientConnectorError)\n",
        )
        status, text = await _get(service.port, "/metrics")
        assert status == 200
        assert "# TYPE bitacora_events_in_total counter" in text
        assert "# TYPE bitacora_consumer_lag gauge" in text
        service.checks = [_ready]
        assert await _get(service.port, "/readyz") == (200, "ready\n")
    finally:
        await service.stop()


def test_a_taken_port_is_one_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = WebService(Settings(processor_http_port=port), [])
        with pytest.raises(ConfigError) as caught:
            service.listen()
    assert str(caught.value) == (
        f"cannot listen on 127.0.0.1:{port} for /healthz, /readyz and /metrics "
        "(Address already in use): set BITACORA_PROCESSOR_HTTP_PORT to a free port"
    )
