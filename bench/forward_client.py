"""A forward-protocol client that wants acks and resends what was not acknowledged.

It behaves like Fluent Bit / Fluentd with ``require_ack_response``: every PackedForward
frame carries a unique ``option.chunk``; a chunk counts as delivered only when the
collector echoed ``{"ack": chunk}``; after a broken connection or an ack timeout it
reconnects and resends every unacknowledged chunk with the same chunk id (so the pipeline's
deterministic ids make the resend harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack

from bench.payloads import record
from bitacora.collector.forward.encode import event_time, packed


@dataclass(frozen=True, slots=True)
class Chunk:
    """One PackedForward frame and the (source, seq) numbers it carries."""

    chunk_id: str
    frame: bytes
    source: str
    first_seq: int
    count: int


Planned = tuple[str, list[tuple[int, dict[str, Any]]]]  # (tag, [(time_ns, record), ...])


def plan_chunks(
    source: str,
    total: int,
    per_chunk: int,
    services: Sequence[str],
    *,
    seed: int = 7,
    start_seq: int = 0,
) -> list[Planned]:
    """The events of ``build_chunks`` before encoding: the same records feed the baselines.

    Chunk ``k`` belongs to service ``services[k % len(services)]`` (one tag per frame).
    """
    rng = random.Random(seed)
    plans: list[Planned] = []
    seq = start_seq
    while seq < start_seq + total:
        n = min(per_chunk, start_seq + total - seq)
        service = services[len(plans) % len(services)]
        now = time.time_ns()
        plans.append(
            (
                f"{service}.app",
                [(now, record(source, s, service, rng)) for s in range(seq, seq + n)],
            )
        )
        seq += n
    return plans


def encode_chunks(
    source: str, plans: Sequence[Planned], *, compress: str | None = None
) -> list[Chunk]:
    """PackedForward frames (EventTime, ``option.chunk``) for planned chunks."""
    chunks = []
    for tag, events in plans:
        first = int(events[0][1]["seq"])
        chunk_id = f"{source}-{first:010d}\n"  # Fluentd appends a newline: keep it byte-exact
        entries = [(event_time(t // 1_000_000_000, t % 1_000_000_000), r) for t, r in events]
        option = {"chunk": chunk_id, "size": len(events)}
        frame = packed(tag, entries, option, compress=compress)
        chunks.append(Chunk(chunk_id, frame, source, first, len(events)))
    return chunks


def build_chunks(
    source: str,
    total: int,
    per_chunk: int,
    services: Sequence[str],
    *,
    seed: int = 7,
    compress: str | None = None,
    start_seq: int = 0,
) -> list[Chunk]:
    """``total`` events of ``source`` (seq ``start_seq``..) in acked chunks of ``per_chunk``."""
    plans = plan_chunks(source, total, per_chunk, services, seed=seed, start_seq=start_seq)
    return encode_chunks(source, plans, compress=compress)


@dataclass
class SendStats:
    """What one sender achieved."""

    acked: set[str] = field(default_factory=set)
    ack_latencies_s: list[float] = field(default_factory=list)
    resends: int = 0
    reconnects: int = 0
    errors: list[str] = field(default_factory=list)

    def acked_events(self, chunks: Sequence[Chunk]) -> set[tuple[str, int]]:
        """Every (source, seq) inside an acknowledged chunk."""
        out: set[tuple[str, int]] = set()
        for c in chunks:
            if c.chunk_id in self.acked:
                out.update((c.source, s) for s in range(c.first_seq, c.first_seq + c.count))
        return out


async def _read_acks(
    reader: asyncio.StreamReader, waiting: dict[str, tuple[asyncio.Future[float], float]]
) -> None:
    unpacker = msgpack.Unpacker(raw=False)
    while True:
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("collector closed the connection")
        unpacker.feed(data)
        for reply in unpacker:
            chunk = reply.get("ack") if isinstance(reply, dict) else None
            entry = waiting.pop(chunk, None) if isinstance(chunk, str) else None
            if entry is not None and not entry[0].done():
                entry[0].set_result(time.monotonic() - entry[1])


async def _send_on_connection(
    host: str,
    port: int,
    pending: Sequence[Chunk],
    window: int,
    ack_timeout_s: float,
    stats: SendStats,
) -> None:
    """One connection: send ``pending`` with at most ``window`` unacknowledged."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    waiting: dict[str, tuple[asyncio.Future[float], float]] = {}
    ack_task = asyncio.create_task(_read_acks(reader, waiting))
    gate = asyncio.Semaphore(window)
    loop = asyncio.get_running_loop()

    async def one(chunk: Chunk) -> None:
        async with gate:
            if ack_task.done():
                raise ConnectionError("connection lost")
            future: asyncio.Future[float] = loop.create_future()
            waiting[chunk.chunk_id] = (future, time.monotonic())
            writer.write(chunk.frame)
            await writer.drain()
            either: set[asyncio.Future[Any]] = {future, ack_task}
            done, _ = await asyncio.wait(
                either, timeout=ack_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if future in done:
                stats.acked.add(chunk.chunk_id)
                stats.ack_latencies_s.append(future.result())
                return
            raise ConnectionError("no ack (timeout or connection lost)")

    try:
        results = await asyncio.gather(*(one(c) for c in pending), return_exceptions=True)
    finally:
        ack_task.cancel()
        if ack_task.done() and not ack_task.cancelled():
            ack_task.exception()  # retrieved: a closed connection is expected here
        writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await writer.wait_closed()
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        stats.errors.append(f"{len(failures)} chunks unacked: {failures[0]!r}")


async def send_with_acks(
    host: str,
    port: int,
    chunks: Sequence[Chunk],
    *,
    window: int = 8,
    ack_timeout_s: float = 30.0,
    deadline_s: float = 300.0,
    stats: SendStats | None = None,
) -> SendStats:
    """Send ``chunks`` keeping ``window`` unacknowledged; resend until all are acked.

    Returns when every chunk is acknowledged or ``deadline_s`` passed (check
    ``stats.acked``). Failed connections are retried every 0.2 s; unacknowledged chunks
    are resent with the same chunk id, as Fluent Bit and Fluentd do.
    """
    stats = stats or SendStats()
    end = time.monotonic() + deadline_s
    pending = [c for c in chunks if c.chunk_id not in stats.acked]
    attempt = 0
    while pending and time.monotonic() < end:
        if attempt:
            stats.reconnects += 1
            stats.resends += len(pending)
            await asyncio.sleep(0.2)
        attempt += 1
        try:
            await _send_on_connection(host, port, pending, window, ack_timeout_s, stats)
        except (OSError, TimeoutError) as exc:
            stats.errors.append(f"connect: {exc!r}")
        pending = [c for c in chunks if c.chunk_id not in stats.acked]
    return stats


async def paced_send(
    host: str, port: int, chunks: Sequence[Chunk], interval_s: float, *, ack_timeout_s: float = 30.0
) -> tuple[dict[str, float], SendStats]:
    """Write chunk ``k`` at ``k * interval_s`` on one connection, not waiting for acks between.

    Returns each chunk's send time (``time.monotonic()``) and the ack statistics; every
    chunk must be acknowledged within ``ack_timeout_s`` after the last write.
    """
    stats = SendStats()
    sent: dict[str, float] = {}
    reader, writer = await asyncio.open_connection(host, port)
    waiting: dict[str, tuple[asyncio.Future[float], float]] = {}
    ack_task = asyncio.create_task(_read_acks(reader, waiting))
    loop = asyncio.get_running_loop()
    futures = []
    start = time.monotonic()
    try:
        for k, chunk in enumerate(chunks):
            delay = start + k * interval_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if ack_task.done():
                raise ConnectionError(f"connection lost: {ack_task.exception()!r}")
            future: asyncio.Future[float] = loop.create_future()
            now = time.monotonic()
            waiting[chunk.chunk_id] = (future, now)
            sent[chunk.chunk_id] = now
            writer.write(chunk.frame)
            await writer.drain()
            futures.append((chunk.chunk_id, future))
        for chunk_id, future in futures:
            stats.ack_latencies_s.append(await asyncio.wait_for(future, ack_timeout_s))
            stats.acked.add(chunk_id)
    finally:
        ack_task.cancel()
        writer.close()
    return sent, stats
