"""Syslog over UDP and TCP on ``syslog_port`` and over TLS on ``syslog_tls_port``.

Each message becomes one raw record ``{"syslog": line}`` (tag and transport ``syslog``,
the receive time; the normalizer reads the header), keyed by the sender's address so one
host's messages stay in order. Syslog has no acknowledgements: over TCP and TLS a
connection's messages are published before more is read, and while Kafka cannot take them
the server retries and stops reading (the sender's buffer fills: backpressure, no loss;
each batch has a chunk id, so a retried batch keeps its event ids);
over UDP what Kafka cannot take is dropped and counted (``kafka_unavailable``). Frames
over ``max_syslog_message_bytes`` are dead-lettered (``frame_too_large``) and the
connection goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

from bitacora.collector.budget import ByteBudget
from bitacora.collector.forward.server import tls_context
from bitacora.collector.metrics import CollectorMetrics
from bitacora.collector.publisher import KafkaUnavailable, Publisher
from bitacora.collector.records import deadletter, raw_records, split_oversized
from bitacora.collector.syslog.framing import Framer
from bitacora.deadletter import TOO_LARGE
from bitacora.settings import Settings

log = logging.getLogger(__name__)

TAG: Final = "syslog"
SOURCE: Final = "syslog"
_READ_SIZE: Final = 256 * 1024
_RETRY_S: Final = 0.5
_UDP_BATCH: Final = 2000


def records_for(
    messages: list[bytes], peer: str, received_ns: int, chunk: str | None = None
) -> list[tuple[bytes, bytes]]:
    """The Kafka records of messages from ``peer`` ("host:port"), keyed by its host.

    ``chunk`` names the batch (TCP: connection and batch number), so a batch published
    again after a Kafka failure maps to the same event ids.
    """
    entries = [(0, {"syslog": message.decode("utf-8", "surrogateescape")}) for message in messages]
    host = peer.rpartition(":")[0] or peer
    return raw_records(TAG, entries, received_ns, peer, TAG, chunk, [host] * len(entries))


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: SyslogServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.server.datagram(data, f"{addr[0]}:{addr[1]}")


class SyslogServer:
    """The UDP, TCP and (with ``tls_cert_file``) TLS listeners."""

    def __init__(
        self,
        settings: Settings,
        publisher: Publisher,
        metrics: CollectorMetrics,
        budget: ByteBudget,
    ) -> None:
        self._settings = settings
        self._publisher = publisher
        self._metrics = metrics
        self._budget = budget
        self._servers: list[asyncio.Server] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._pending: list[tuple[bytes, str]] = []
        self._pending_bytes = 0
        self._flusher: asyncio.Task[None] | None = None
        self._stopping = False
        self.port = settings.syslog_port
        self.tls_port: int | None = None

    async def start(self) -> None:
        """Bind TCP and UDP on ``syslog_port``; TLS on ``syslog_tls_port`` when configured."""
        s = self._settings
        tcp = await asyncio.start_server(self._serve, s.bind_host, s.syslog_port, limit=_READ_SIZE)
        self._servers.append(tcp)
        self.port = tcp.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self), local_addr=(s.bind_host, self.port)
        )
        context = tls_context(s)
        if context is not None:
            tls = await asyncio.start_server(
                self._serve,
                s.bind_host,
                s.syslog_tls_port,
                ssl=context,
                ssl_handshake_timeout=min(s.idle_timeout_s, 30.0),
                limit=_READ_SIZE,
            )
            self._servers.append(tls)
            self.tls_port = tls.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting; publish what was read (briefly), then close."""
        self._stopping = True
        for server in self._servers:
            server.close()
        if self._udp is not None:
            self._udp.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(self._connections, timeout=_RETRY_S * 4)
        if self._flusher is not None:
            await asyncio.wait([self._flusher], timeout=_RETRY_S * 4)
        for server in self._servers:
            await server.wait_closed()

    def _reject(self, reason: str, amount: int = 1) -> None:
        self._metrics.rejections.inc(SOURCE, reason, amount=amount)

    # UDP: one datagram is one message; datagrams are batched until the loop is free.
    def datagram(self, data: bytes, peer: str) -> None:
        """Queue one datagram for publishing (dropped and counted when over the budget)."""
        message = data.rstrip(b"\r\n\x00")
        if not message.strip():
            return
        if len(message) > self._settings.max_syslog_message_bytes:
            self._reject("frame_too_large")
            return
        if self._pending_bytes + len(message) > self._settings.max_inflight_bytes:
            self._reject("over_limit")
            return
        self._pending.append((message, peer))
        self._pending_bytes += len(message)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_udp())

    async def _flush_udp(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:_UDP_BATCH], self._pending[_UDP_BATCH:]
            size = sum(len(message) for message, _ in batch)
            by_peer: dict[str, list[bytes]] = {}
            for message, peer in batch:
                by_peer.setdefault(peer, []).append(message)
            received = time.time_ns()
            records = [
                record
                for peer, messages in by_peer.items()
                for record in records_for(messages, peer, received)
            ]
            try:
                await self._publish(records, [])
            except KafkaUnavailable:
                self._reject("kafka_unavailable", len(batch))
            finally:
                self._pending_bytes -= size

    # TCP and TLS: read, frame, publish, then read on.
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        s = self._settings
        if self._stopping or len(self._connections) >= s.max_connections:
            self._reject("connection_limit")
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        address = writer.get_extra_info("peername") or ("", 0)
        peer = f"{address[0]}:{address[1]}"
        framer = Framer(s.max_syslog_message_bytes)
        connection = f"syslog:{peer}:{time.time_ns()}"
        batches = 0
        try:
            while True:
                async with asyncio.timeout(s.idle_timeout_s):
                    data = await reader.read(_READ_SIZE)
                if not data:
                    await self._deliver(framer.close(), [], peer, f"{connection}:{batches}")
                    break
                messages, rejects = framer.feed(data)
                await self._deliver(messages, rejects, peer, f"{connection}:{batches}")
                batches += 1
        except TimeoutError:
            self._reject("idle_timeout")
        except (asyncio.CancelledError, ConnectionError):
            pass
        except Exception:  # one bad client never takes the server down
            log.exception("syslog connection from %s failed", peer)
        finally:
            self._connections.discard(task)
            writer.transport.abort()

    async def _deliver(
        self, messages: list[bytes], rejects: list[tuple[str, bytes]], peer: str, chunk: str
    ) -> None:
        # Retries until Kafka takes the batch: not reading meanwhile is the backpressure.
        if not messages and not rejects:
            return
        received = time.time_ns()
        records = records_for(messages, peer, received, chunk)
        letters = [deadletter(r, sample, TAG, received, peer, SOURCE) for r, sample in rejects]
        for reason, _ in rejects:
            self._reject(reason)
        while True:
            try:
                await self._publish(records, letters)
                return
            except KafkaUnavailable:
                if self._stopping:
                    self._reject("kafka_unavailable", len(messages))
                    return
                await asyncio.sleep(_RETRY_S)

    async def _publish(self, records: list[tuple[bytes, bytes]], letters: list[bytes]) -> None:
        metrics = self._metrics
        kept, too_large = split_oversized(records, self._publisher.record_limit)
        letters = letters + [
            deadletter(TOO_LARGE, value[:256], TAG, time.time_ns(), "", SOURCE)
            for value in too_large
        ]
        size = sum(len(value) for _, value in kept)
        taken = await self._budget.acquire(size)
        try:
            async with asyncio.timeout(self._settings.http_publish_timeout_s):
                await self._publisher.publish(kept, letters)
        except (KafkaUnavailable, TimeoutError) as exc:
            metrics.publish_failures.inc(SOURCE)
            raise KafkaUnavailable(str(exc)) from exc
        finally:
            self._budget.release(taken)
        metrics.requests.inc(SOURCE)
        metrics.events.inc(SOURCE, TAG, amount=len(kept))
        if letters:
            metrics.deadletters.inc(SOURCE, amount=len(letters))
        metrics.acks.inc(SOURCE)
