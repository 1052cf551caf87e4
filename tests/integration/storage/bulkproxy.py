"""A real HTTP proxy in front of the real OpenSearch that injects bulk failures.

It forwards ``_bulk`` requests, but can (per request, by script) answer with a whole-request
status without forwarding, drop the connection, or take chosen items out of the body and
answer them with a 429 ``es_rejected_execution_exception`` spliced into OpenSearch's real
response, exactly where OpenSearch would have put it. Those items are really not indexed,
so a retry creates them (201), and the final count shows any loss or duplication.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

REJECTED_429: dict[str, Any] = {
    "type": "es_rejected_execution_exception",
    "reason": "rejected execution of coordinating operation [injected by the test proxy]",
}


@dataclass
class Step:
    """What the proxy does with one bulk request."""

    status: int | None = None  # answer this status without forwarding
    drop: bool = False  # close the connection without an answer
    reject: Callable[[int, str], bool] | None = None  # (position, _id) -> answer 429


@dataclass
class BulkProxy:
    """Run with ``async with``; ``url`` is where to point the indexer."""

    upstream: str
    script: list[Step] = field(default_factory=list)
    refuse_ids: frozenset[str] = frozenset()  # answer 413 to any request holding one of these
    seen: list[list[str]] = field(default_factory=list)  # the _ids of each bulk request
    url: str = ""
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> BulkProxy:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/_bulk", self._bulk)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # started
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        assert self._runner is not None
        await self._session.close()
        await self._runner.cleanup()

    async def _bulk(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        lines = body.split(b"\n")[:-1]
        pairs = [(lines[i], lines[i + 1]) for i in range(0, len(lines), 2)]
        ids = [json.loads(action)["create"]["_id"] for action, _ in pairs]
        self.seen.append(ids)
        step = self.script.pop(0) if self.script else Step()
        if self.refuse_ids.intersection(ids):
            step = Step(status=413)
        if step.drop:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if step.status is not None:
            return web.json_response({"error": "injected"}, status=step.status)
        rejected = {
            pos
            for pos, doc_id in enumerate(ids)
            if step.reject is not None and step.reject(pos, doc_id)
        }
        forward = b"".join(
            a + b"\n" + s + b"\n" for pos, (a, s) in enumerate(pairs) if pos not in rejected
        )
        items: list[Any] = []
        errors = False
        if forward:
            assert self._session is not None
            async with self._session.post(
                self.upstream.rstrip("/") + "/_bulk",
                params=request.query,
                data=forward,
                headers={"Content-Type": "application/x-ndjson"},
            ) as response:
                real = json.loads(await response.read())
            items = list(real["items"])
            errors = bool(real["errors"])
        merged: list[Any] = []
        for pos in range(len(pairs)):
            if pos in rejected:
                merged.append({"create": {"status": 429, "error": REJECTED_429}})
                errors = True
            else:
                merged.append(items.pop(0))
        return web.json_response({"errors": errors, "items": merged})
