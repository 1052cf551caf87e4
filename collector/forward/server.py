"""The asyncio forward server: TCP (optionally TLS) plus the UDP heartbeat on one port.

Each connection only reads, feeds the pure decoder, hands requests to the publisher and
writes acks. A request is acknowledged (``{"ack": chunk}``, its own write) only after Kafka
holds every event of it; when Kafka cannot take a request the connection is closed without
an ack so the sender retries. In-flight bytes are bounded across all connections: when
they reach ``max_inflight_bytes`` the server stops reading until Kafka catches up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any, cast

import msgpack

from bitacora.collector.budget import ByteBudget
from bitacora.collector.forward.decode import ForwardDecoder, decode_request
from bitacora.collector.forward.handshake import check_ping, helo, new_challenge
from bitacora.collector.forward.request import LimitExceeded, Request, chunk_id
from bitacora.collector.metrics import CollectorMetrics
from bitacora.collector.publisher import Delivery, KafkaUnavailable, Publisher
from bitacora.collector.records import deadletter, raw_records, split_oversized
from bitacora.deadletter import TOO_LARGE
from bitacora.errors import DecodeError
from bitacora.settings import Settings

log = logging.getLogger(__name__)

_READ_SIZE = 256 * 1024
_STOP_GRACE_S = 10.0
_MAX_UNREAD_ACKS = 1024 * 1024  # bytes of acks the client has not read
SOURCE = "forward"


def ack_frame(chunk: str | bytes) -> bytes:
    """``{"ack": chunk}`` with the chunk's msgpack type and bytes unchanged."""
    packed: bytes = msgpack.packb(
        {"ack": chunk}, use_bin_type=True, unicode_errors="surrogateescape"
    )
    return packed


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server TLS context from ``tls_*`` settings (client certs when a CA is set)."""
    if settings.tls_cert_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    if settings.tls_client_ca_file is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(settings.tls_client_ca_file)
    return context


class _Heartbeat(asyncio.DatagramProtocol):
    """UDP heartbeat: every datagram is answered with one 0x00 byte (never amplifies)."""

    transport: asyncio.DatagramTransport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.transport.sendto(b"\x00", addr)


class ForwardServer:
    """Serves the forward protocol on ``settings.bind_host:forward_port`` (0: any free port)."""

    def __init__(
        self,
        settings: Settings,
        publisher: Publisher,
        metrics: CollectorMetrics,
        users: dict[bytes, bytes] | None = None,
        budget: ByteBudget | None = None,
    ) -> None:
        self._settings = settings
        self._publisher = publisher
        self._metrics = metrics
        self._users = users or {}
        key = settings.forward_shared_key
        self._shared_key = key.get_secret_value().encode() if key is not None else None
        self._hostname = socket.gethostname()
        self._budget = budget or ByteBudget(settings.max_inflight_bytes)
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._handlers: dict[asyncio.Task[Any], _Connection] = {}
        self.port = settings.forward_port
        self._stopping = False

    async def start(self) -> None:
        """Bind TCP (and TLS when configured) and the UDP heartbeat on the same port."""
        s = self._settings
        self._server = await asyncio.start_server(
            self._serve,
            s.bind_host,
            s.forward_port,
            ssl=tls_context(s),
            ssl_handshake_timeout=min(s.idle_timeout_s, 30.0) if s.tls_cert_file else None,
            limit=_READ_SIZE,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            _Heartbeat, local_addr=(s.bind_host, self.port)
        )

    async def stop(self) -> None:
        """Stop accepting, let pending requests reach Kafka and be acked, then close."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        if self._udp is not None:
            self._udp.close()
        for task, conn in list(self._handlers.items()):
            # Interrupt a connection only while it waits for bytes; one in the middle of
            # handing a request to Kafka finishes it first, then stops reading.
            conn.stop_requested = True
            if conn.reading:
                task.cancel()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=_STOP_GRACE_S + 1)
        stuck = [task for task in self._handlers if not task.done()]
        for task in stuck:  # e.g. waiting for in-flight budget while Kafka is down
            task.cancel()
        if stuck:
            await asyncio.wait(stuck, timeout=_STOP_GRACE_S + 1)
        if self._server is not None:
            await self._server.wait_closed()

    def _reject(self, reason: str, amount: int = 1) -> None:
        self._metrics.rejections.inc(SOURCE, reason, amount=amount)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._stopping:
            writer.transport.abort()
            return
        if len(self._handlers) >= self._settings.max_connections:
            self._reject("connection_limit")
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        conn = _Connection(self, reader, writer)
        self._handlers[task] = conn
        self._metrics.connections_total.inc()
        self._metrics.connections.set(len(self._handlers))
        try:
            await conn.run()
        except asyncio.CancelledError:
            pass  # server stopping: finish below
        except Exception:  # one bad client never takes the server down
            log.exception("forward connection from %s failed", conn.peer)
        finally:
            await conn.close()
            self._handlers.pop(task, None)
            self._metrics.connections.set(len(self._handlers))


@dataclass(slots=True)
class _Pending:
    request: Request
    delivery: Delivery
    taken: int  # in-flight budget held until Kafka answers
    letters: int


class _Connection:
    """One client connection: read, decode, submit; one pump task acks in order."""

    def __init__(
        self, server: ForwardServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        address = writer.get_extra_info("peername")
        self.peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        s = server._settings
        # Records leave as their raw records: the decoder need not build packed ones.
        self.decoder = ForwardDecoder(
            s.max_frame_bytes, s.max_decompressed_bytes, key_fields_only=True
        )
        # Submitted requests wait here for Kafka; one pump per connection (not one task per
        # request) awaits them in order and writes the acks.
        self.queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self.pump: asyncio.Task[None] | None = None
        self.unfinished = 0
        self.reading = False  # waiting for bytes: the only safe point to cancel at
        self.stop_requested = False

    async def _read(self) -> bytes:
        idle = self.server._settings.idle_timeout_s
        while not self.stop_requested:
            self.reading = True
            try:
                async with asyncio.timeout(idle):
                    return await self.reader.read(_READ_SIZE)
            except TimeoutError:
                if not self.unfinished:  # idle only when nothing is waiting for Kafka
                    self.server._reject("idle_timeout")
                    return b""
            finally:
                self.reading = False
        return b""

    async def run(self) -> None:
        """Serve until EOF, idle timeout, bad input or a Kafka failure."""
        server = self.server
        try:
            if server._shared_key is not None and not await self._handshake(server._shared_key):
                return
            while data := await self._read():
                for request in self.decoder.feed(data):
                    await self._handle(request)
        except DecodeError as exc:
            server._reject("over_limit" if isinstance(exc, LimitExceeded) else "undecodable")
            log.info("closing forward connection from %s: %s", self.peer, exc)
        except KafkaUnavailable as exc:
            server._metrics.publish_failures.inc(SOURCE)
            log.warning("closing forward connection from %s without ack: %s", self.peer, exc)
            self.writer.transport.abort()  # unacked requests: the sender must retry

    async def _handshake(self, shared_key: bytes) -> bool:
        server = self.server
        challenge = new_challenge(bool(server._users))
        self.writer.write(helo(challenge))
        objects: list[tuple[Any, int]] = []
        while not objects:
            data = await self._read()
            if not data:
                return False
            objects = self.decoder.feed_objects(data)
        result = check_ping(objects[0][0], challenge, shared_key, server._users, server._hostname)
        self.writer.write(result.pong)
        if not result.ok:
            server._reject("auth_failed")
            log.info("forward handshake from %s refused: %s", self.peer, result.reason)
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()
            return False
        settings = server._settings
        for frame, size in objects[1:]:
            request = decode_request(
                frame, size, settings.max_decompressed_bytes, key_fields_only=True
            )
            if request is not None:
                await self._handle(request)
        return True

    async def _handle(self, request: Request) -> None:
        server, metrics = self.server, self.server._metrics
        metrics.requests.inc(SOURCE)
        metrics.bytes.inc(SOURCE, request.tag, amount=request.size)
        if request.signal is not None:
            metrics.non_logs.inc(str(request.signal))
            self._ack(request)
            return
        received = time.time_ns()
        records = raw_records(
            request.tag,
            request.entries,
            received,
            self.peer,
            SOURCE,
            chunk_id(request.chunk),
            services=request.services,
            packed=request.packed,
        )
        request.packed = None  # in the records now: not kept while Kafka acknowledges them
        rejects = [(r.reason, r.original) for r in request.rejected]
        records, too_large = split_oversized(records, server._publisher.record_limit)
        rejects += [(TOO_LARGE, value) for value in too_large]
        letters = [
            deadletter(reason, original, request.tag, received, self.peer, SOURCE)
            for reason, original in rejects
        ]
        for reason, _ in rejects:
            server._reject(reason)
        budget = server._budget
        # Count what this request holds in memory (decompressed records included), not just
        # its wire size; waiting here stops reading from this client while Kafka lags.
        cost = request.size + sum(len(value) for _, value in records)
        taken = await budget.acquire(cost)
        metrics.inflight.set(budget.used)
        try:
            delivery = await server._publisher.submit(records, letters)
        except BaseException:
            budget.release(taken)
            raise
        if self.pump is None:
            self.pump = asyncio.create_task(self._pump())
        self.unfinished += 1
        self.queue.put_nowait(_Pending(request, delivery, taken, len(letters)))

    async def _pump(self) -> None:
        server, metrics = self.server, self.server._metrics
        while (item := await self.queue.get()) is not None:
            try:
                await server._publisher.delivered(item.delivery)
            except KafkaUnavailable as exc:
                metrics.publish_failures.inc(SOURCE)
                log.warning(
                    "Kafka failed a request from %s; closing without ack: %s", self.peer, exc
                )
                self.writer.transport.abort()  # the sender retries everything unacked
                continue
            finally:
                server._budget.release(item.taken)
                metrics.inflight.set(server._budget.used)
                self.unfinished -= 1
            metrics.events.inc(SOURCE, item.request.tag, amount=len(item.request.entries))
            if item.letters:
                metrics.deadletters.inc(SOURCE, amount=item.letters)
            self._ack(item.request)

    def _ack(self, request: Request) -> None:
        if request.chunk is None or self.writer.is_closing():
            return
        if self.writer.transport.get_write_buffer_size() > _MAX_UNREAD_ACKS:
            # A sender that never reads its acks would grow this buffer without bound.
            self.server._reject("acks_not_read")
            self.writer.transport.abort()
            return
        self.writer.write(ack_frame(request.chunk))  # its own write: Node reads one ack per read
        self.server._metrics.acks.inc(SOURCE)

    async def close(self) -> None:
        """Let submitted requests reach Kafka and be acked (bounded), then close."""
        if self.pump is not None:
            self.queue.put_nowait(None)
            done, _ = await asyncio.wait({self.pump}, timeout=_STOP_GRACE_S)
            if not done:
                self.pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.pump
        while not self.queue.empty():  # never processed: give their budget back
            item = self.queue.get_nowait()
            if item is not None:
                self.server._budget.release(item.taken)
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()
