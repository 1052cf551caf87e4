"""Real local receivers for destination tests: an aiohttp server (HTTP or HTTPS), an HTTP
proxy that tunnels ``CONNECT`` and an aiosmtpd server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

from bench.procs import free_port


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
async def http_receiver(tls: ssl.SSLContext | None = None) -> AsyncIterator[HttpReceiver]:
    """An HTTP server on 127.0.0.1 (port chosen by the OS) recording POSTs to any path;
    HTTPS with the server context ``tls``."""
    receiver = HttpReceiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        receiver.release.set()  # held requests are answered: the server stops at once
        await runner.cleanup()


@dataclass(frozen=True)
class ProxyRequest:
    """One request an HTTP proxy received: its method, target and proxy credentials."""

    method: str
    target: str
    authorization: str | None


@dataclass
class HttpProxy:
    """Tunnels ``CONNECT host:port`` to the target (requiring ``Proxy-Authorization:
    required`` when set, else 407) and refuses every other request with 405; records each."""

    url: str = ""
    required: str | None = None
    requests: list[ProxyRequest] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
            given = {k.lower(): v for k, v in headers.items()}.get("proxy-authorization")
            self.requests.append(ProxyRequest(method, target, given))
            if method != "CONNECT":
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            if self.required is not None and given != self.required:
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
                )
                return
            host, port = target.rsplit(":", 1)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                await writer.drain()
            writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.close()


@asynccontextmanager
async def http_proxy(required: str | None = None) -> AsyncIterator[HttpProxy]:
    """An HTTP proxy on 127.0.0.1 (port chosen by the OS); see ``HttpProxy``."""
    proxy = HttpProxy(required=required)
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await proxy.handle(reader, writer)
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    proxy.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield proxy
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


@dataclass(frozen=True)
class MailSession:
    """How a message came: over TLS or not, the client certificate's common name, the login."""

    tls: bool
    client: str | None
    login: str | None


class MailSink:
    """aiosmtpd handler keeping every message, and how each came (``sessions``)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.sessions: list[MailSession] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        tls = server.transport.get_extra_info("ssl_object")
        peer = tls.getpeercert() if tls else None
        names = [v for rdn in (peer or {}).get("subject", ()) for k, v in rdn if k == "commonName"]
        login = session.auth_data.login.decode() if session.authenticated else None
        self.sessions.append(MailSession(tls is not None, names[0] if names else None, login))
        return "250 Message accepted for delivery"


@asynccontextmanager
async def smtp_receiver(**options: Any) -> AsyncIterator[tuple[MailSink, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; ``options`` go to its ``Controller``
    (``ssl_context`` for SMTPS, ``tls_context`` to offer STARTTLS, ``authenticator``…)."""
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
    await asyncio.to_thread(controller.start)
    try:
        yield sink, port
    finally:
        await asyncio.to_thread(controller.stop)
