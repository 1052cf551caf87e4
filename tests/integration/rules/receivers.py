"""Real local receivers for destination tests: an aiohttp server and an aiosmtpd server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One request as the receiver saw it."""

    at: float
    path: str
    headers: dict[str, str]
    body: Any
    method: str = "POST"
    query: str = ""
    held_open: int = 0  # held requests whose client still waited when this one arrived


@dataclass
class HttpReceiver:
    """Records every POST; answers from ``replies`` (status, headers) then 200, with the
    JSON bodies of ``answers`` in turn (then ``{"status": "ok"}``). Requests whose body
    ``hold`` picks are answered only once ``release`` is set (a stalled server)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    replies: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    answers: list[Any] = field(default_factory=list)
    hold: Callable[[Any], bool] | None = None
    release: asyncio.Event = field(default_factory=asyncio.Event)
    holding: list[web.Request] = field(default_factory=list)

    def held_open(self) -> int:
        """Held requests whose client still waits (has not given up and disconnected)."""
        return sum(1 for request in self.holding if request.transport is not None)

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode()
        self.requests.append(
            Received(
                time.monotonic(),
                request.path,
                dict(request.headers),
                body,
                request.method,
                request.query_string,
                self.held_open(),
            )
        )
        if self.hold is not None and self.hold(body):
            self.holding.append(request)
            try:
                await self.release.wait()
            finally:
                self.holding.remove(request)
        status, headers = self.replies.pop(0) if self.replies else (200, {})
        answer = self.answers.pop(0) if self.answers else {"status": "ok"}
        return web.json_response(answer, status=status, headers=headers)

    async def wait_for(self, count: int, deadline_s: float = 10.0) -> list[Received]:
        """Poll until ``count`` requests arrived (fails after the deadline)."""
        end = time.monotonic() + deadline_s
        while len(self.requests) < count:
            assert time.monotonic() < end, f"only {len(self.requests)} of {count} requests arrived"
            await asyncio.sleep(0.02)
        return self.requests


@asynccontextmanager
async def http_receiver() -> AsyncIterator[HttpReceiver]:
    """An HTTP server on 127.0.0.1 (port chosen by the OS) recording POSTs to any path."""
    receiver = HttpReceiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        receiver.release.set()  # held requests are answered: the server stops at once
        await runner.cleanup()


class MailSink:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A port free on 127.0.0.1 right now (aiosmtpd's Controller needs a number)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def smtp_receiver() -> AsyncIterator[tuple[MailSink, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1."""
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield sink, port
    finally:
        await asyncio.to_thread(controller.stop)
