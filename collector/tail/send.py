"""``bitacora send``'s shell: lines from a stream to Kafka, each batch acknowledged (acks=all).

The stream is read as it comes (a pipe from cron, a file), split by the same
``LineReader`` as the file input, turned into the same raw records, and published batch by
batch. A batch Kafka refuses is retried with the same event ids (one random token per run
plus the line's byte offset) until ``timeout_s`` passes; then the run stops and reports
how many lines Kafka holds, so the command exits non-zero and cron mails the error.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bitacora.collector.metrics import CollectorMetrics
from bitacora.collector.publisher import KafkaUnavailable, Publisher
from bitacora.collector.tail.events import build_records
from bitacora.collector.tail.lines import LineEvent, LineReader

SOURCE = "stdin"
_RETRY_S = 0.5


@dataclass(slots=True)
class SendResult:
    """What one ``send`` run did: lines Kafka holds, and dead letters among them."""

    sent: int = 0
    deadlettered: int = 0
    failed: str | None = None  # why the run stopped before the end of its input


@dataclass(frozen=True, slots=True)
class SendOptions:
    """How to read and tag the stream."""

    tag: str
    as_json: bool = False
    path: str | None = None  # the --file path, kept as log.file.path
    max_line_bytes: int = 64 * 1024
    multiline_start: re.Pattern[bytes] | None = None
    timeout_s: float = 30.0


async def send_stream(
    read: Callable[[], Awaitable[bytes]],
    publisher: Publisher,
    metrics: CollectorMetrics,
    options: SendOptions,
) -> SendResult:
    """Read until ``read`` returns ``b""``; publish every line; never raises KafkaUnavailable."""
    reader = LineReader(
        max_line_bytes=options.max_line_bytes, multiline_start=options.multiline_start
    )
    chunk = f"send:{secrets.token_hex(8)}"
    result = SendResult()
    while True:
        data = await read()
        events = reader.feed(data) if data else reader.flush(final=True)
        if events:
            try:
                await _publish(events, chunk, publisher, metrics, options, result)
            except KafkaUnavailable as exc:
                metrics.publish_failures.inc(SOURCE)
                result.failed = str(exc)
                return result
        if not data:
            return result


async def _publish(
    events: list[LineEvent],
    chunk: str,
    publisher: Publisher,
    metrics: CollectorMetrics,
    options: SendOptions,
    result: SendResult,
) -> None:
    records, rejected = build_records(
        events,
        tag=options.tag,
        chunk=chunk,
        path=options.path,
        as_json=options.as_json,
        received_ns=time.time_ns(),
        peer=options.path or "stdin",
        transport=SOURCE,
        record_limit=publisher.record_limit,
    )
    letters = [letter for _, letter in rejected]
    deadline = time.monotonic() + options.timeout_s
    while True:
        try:
            async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                await publisher.publish(records, letters)
            break
        except (KafkaUnavailable, TimeoutError) as exc:
            if time.monotonic() >= deadline:
                raise KafkaUnavailable(
                    f"Kafka did not acknowledge within {options.timeout_s:g} s: {exc}"
                ) from exc
            await asyncio.sleep(_RETRY_S)
    result.sent += len(records)
    result.deadlettered += len(letters)
    metrics.events.inc(SOURCE, options.tag, amount=len(records))
    metrics.acks.inc(SOURCE)
    for reason, _ in rejected:
        metrics.rejections.inc(SOURCE, reason)
