"""A TLS-terminating proxy in front of the real OpenSearch, for the TLS/mTLS/auth tests.

It serves HTTPS on 127.0.0.1 with a certificate of the test's CA, requires a client
certificate signed by that CA, checks the ``Authorization`` header when told which one to
expect, and forwards everything else unchanged to the plain-http OpenSearch. It runs its
own event loop in a thread, so synchronous clients (opensearch-py) can call it from the
test's thread. It records each request's ``Authorization`` header and client certificate
subject.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.procs import free_port
from bitacora.stack import certs


@dataclass(frozen=True)
class Pki:
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate; and a
    second, unrelated CA with its own client certificate (what the proxy must refuse)."""

    ca: certs.Issued
    server: certs.Issued
    wrong_host: certs.Issued  # signed by ``ca`` for another name only
    client: certs.Issued
    other_ca: certs.Issued
    other_client: certs.Issued


def make_pki(folder: Path) -> Pki:
    """Every certificate the TLS tests use, under ``folder``."""
    ca = certs.make_ca(folder / "ca")
    other = certs.make_ca(folder / "other")
    return Pki(
        ca=ca,
        server=certs.issue(ca, folder / "ca", "server"),
        wrong_host=certs.issue(ca, folder / "ca", "wrong", hosts=("wrong.example",)),
        client=certs.issue(ca, folder / "ca", "client", hosts=(), client=True),
        other_ca=other,
        other_client=certs.issue(other, folder / "other", "client", hosts=(), client=True),
    )


@dataclass
class Seen:
    """One request the proxy accepted or refused."""

    method: str
    path: str
    authorization: str | None
    client_subject: str | None
    status: int


@dataclass
class Proxy:
    """Where the proxy listens and what it saw."""

    url: str
    seen: list[Seen] = field(default_factory=list)


def _server_context(pki: Pki, server: certs.Issued) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca.cert))
    context.verify_mode = ssl.CERT_REQUIRED  # mTLS: no client certificate, no handshake
    context.load_cert_chain(server.cert, server.key)
    return context


def _subject(request: web.Request) -> str | None:
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport else None
    peer = ssl_object.getpeercert() if ssl_object else None
    if not peer:
        return None
    return ",".join(f"{k}={v}" for rdn in peer.get("subject", ()) for k, v in rdn)


@contextmanager
def tls_proxy(
    pki: Pki, upstream: str, *, authorization: str | None, wrong_host: bool = False
) -> Iterator[Proxy]:
    """Run the proxy for the ``with`` block; ``authorization``: the header required, or None
    to accept any (requests are still recorded)."""
    port = free_port()
    proxy = Proxy(url=f"https://127.0.0.1:{port}")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    async def handle(request: web.Request) -> web.StreamResponse:
        given = request.headers.get("Authorization")
        seen = Seen(request.method, request.path_qs, given, _subject(request), 0)
        proxy.seen.append(seen)
        if authorization is not None and given != authorization:
            seen.status = 401
            return web.Response(status=401, text='{"error":"unauthorized"}')
        headers = {k: v for k, v in request.headers.items() if k.lower() == "content-type"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                upstream + request.path_qs,
                data=await request.read(),
                headers=headers,
            ) as response,
        ):
            body = await response.read()
            seen.status = response.status
            return web.Response(
                status=response.status,
                body=body,
                content_type=response.content_type,
            )

    async def serve() -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        server = pki.wrong_host if wrong_host else pki.server
        site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=_server_context(pki, server))
        await site.start()
        started.set()
        await stop.wait()
        await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    if not started.wait(30):
        raise AssertionError("the TLS proxy did not start")
    try:
        yield proxy
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
