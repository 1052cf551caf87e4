"""Small helpers for the storage integration tests: REST calls and isolated templates."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from bitacora.processors.storage.templates import (
    alerts_index_template,
    deadletter_index_template,
    logs_index_template,
)
from bitacora.settings import Settings

# Above the shipped templates (200) so an isolated pattern overlapping logs-* wins.
TEST_PRIORITY = 500


async def call(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One JSON request to OpenSearch: ``(status, parsed body)``."""
    data = None if body is None else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, url.rstrip("/") + path, data=data, headers={"Content-Type": "application/json"}
        ) as response,
    ):
        raw = await response.read()
        return response.status, json.loads(raw) if raw else None


async def ok(url: str, method: str, path: str, body: Any = None) -> Any:
    """Like :func:`call`, asserting a 200."""
    status, payload = await call(url, method, path, body)
    assert status == 200, (method, path, status, payload)
    return payload


async def count(url: str, target: str) -> int:
    """Refresh ``target`` and count its documents."""
    await ok(url, "POST", f"/{target}/_refresh")
    payload = await ok(url, "GET", f"/{target}/_count")
    return int(payload["count"])


@dataclass(frozen=True)
class Isolated:
    """An isolated copy of the shipped templates: unique names and patterns."""

    tag: str
    logs_template: str
    deadletter_template: str
    alerts_template: str

    def logs_stream(self, service: str) -> str:
        return f"logs-{self.tag}-{service}"

    @property
    def deadletter_stream(self) -> str:
        return f"bitacora-deadletter-{self.tag}"

    @property
    def alerts_stream(self) -> str:
        return f"bitacora-alerts-{self.tag}"


@asynccontextmanager
async def isolated_templates(url: str, settings: Settings) -> AsyncIterator[Isolated]:
    """Install test-only logs/dead-letter templates; remove them and their streams after."""
    tag = "t" + uuid.uuid4().hex[:12]
    iso = Isolated(tag, f"test-logs-{tag}", f"test-deadletter-{tag}", f"test-alerts-{tag}")
    logs = logs_index_template(settings, pattern=f"logs-{tag}-*", priority=TEST_PRIORITY)
    dead = deadletter_index_template(
        settings, pattern=f"bitacora-deadletter-{tag}*", priority=TEST_PRIORITY
    )
    alerts = alerts_index_template(
        settings, pattern=f"bitacora-alerts-{tag}*", priority=TEST_PRIORITY
    )
    await ok(url, "PUT", f"/_index_template/{iso.logs_template}", logs)
    await ok(url, "PUT", f"/_index_template/{iso.deadletter_template}", dead)
    await ok(url, "PUT", f"/_index_template/{iso.alerts_template}", alerts)
    try:
        yield iso
    finally:
        await call(url, "DELETE", f"/_data_stream/logs-{tag}-*")
        await call(url, "DELETE", f"/_data_stream/bitacora-deadletter-{tag}*")
        await call(url, "DELETE", f"/_data_stream/bitacora-alerts-{tag}*")
        await call(url, "DELETE", f"/_index_template/{iso.logs_template}")
        await call(url, "DELETE", f"/_index_template/{iso.alerts_template}")
        await call(url, "DELETE", f"/_index_template/{iso.deadletter_template}")


def leaf_types(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten mapping properties to ``{"dotted.path": "type"}`` (objects recurse)."""
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = prefix + name
        if "properties" in spec:
            out.update(leaf_types(spec["properties"], path + "."))
        else:
            out[path] = spec.get("type", "object")
    return out
