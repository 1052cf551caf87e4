"""OTLP and syslog ingest for the collector benchmark (the same planned events as forward).

OTLP: one protobuf ``ExportLogsServiceRequest`` per planned chunk, POSTed to ``/v1/logs``
(the answer comes once Kafka holds the records). Syslog: RFC 5424 lines, octet counted,
over a few TCP connections; syslog has no acknowledgement, so the timed part ends when the
raw topic holds every line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from bench import services
from bench.baselines import Timing
from bench.forward_client import Planned
from bench.procs import Component


def _value(value: Any) -> AnyValue:
    if isinstance(value, int):
        return AnyValue(int_value=value)
    return AnyValue(string_value=str(value))


def otlp_requests(plans: Sequence[Planned]) -> list[tuple[bytes, int]]:
    """(protobuf body, events) per planned chunk: body ``message``, the rest attributes."""
    out = []
    for _tag, events in plans:
        service = events[0][1]["service"]
        records = [
            LogRecord(
                time_unix_nano=time_ns,
                severity_text=str(record["level"]),
                body=AnyValue(string_value=record["message"]),
                attributes=[
                    KeyValue(key=key, value=_value(value))
                    for key, value in record.items()
                    if key not in ("message", "level", "service")
                ],
            )
            for time_ns, record in events
        ]
        resource = Resource(attributes=[KeyValue(key="service.name", value=_value(service))])
        request = ExportLogsServiceRequest(
            resource_logs=[
                ResourceLogs(resource=resource, scope_logs=[ScopeLogs(log_records=records)])
            ]
        )
        out.append((request.SerializeToString(), len(events)))
    return out


def syslog_streams(plans: Sequence[Planned], connections: int) -> list[bytes]:
    """Octet-counted RFC 5424 lines, the chunks dealt over ``connections`` byte streams."""
    streams = [bytearray() for _ in range(connections)]
    for index, (_tag, events) in enumerate(plans):
        stream = streams[index % connections]
        for time_ns, record in events:
            stamp = datetime.fromtimestamp(time_ns / 1e9, UTC).isoformat(timespec="microseconds")
            line = (
                f"<134>1 {stamp} {record['host']} {record['service']} - - "
                f'[req@32473 seq="{record["seq"]}"] {record["message"]}'
            ).encode()
            stream += b"%d %s" % (len(line), line)
    return [bytes(s) for s in streams]


async def otlp_ingest(
    component: Component, port: int, requests: Sequence[tuple[bytes, int]], concurrency: int = 4
) -> Timing:
    """POST every request; each must be answered 200."""
    gate = asyncio.Semaphore(concurrency)
    url = f"http://127.0.0.1:{port}/v1/logs"
    headers = {"Content-Type": "application/x-protobuf"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def post(body: bytes) -> None:
            async with gate, session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"OTLP/HTTP {response.status}")

        cpu0, t0 = component.cpu(), time.perf_counter()
        await asyncio.gather(*(post(body) for body, _ in requests))
        wall, cpu = time.perf_counter() - t0, component.cpu() - cpu0
    return Timing(sum(n for _, n in requests), wall, cpu)


async def syslog_ingest(
    component: Component,
    port: int,
    streams: Sequence[bytes],
    events: int,
    bootstrap: str,
    topic: str,
    already: int,
) -> Timing:
    """Write the streams on parallel TCP connections; time until Kafka holds every line."""

    async def send(stream: bytes) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(stream)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    cpu0, t0 = component.cpu(), time.perf_counter()
    await asyncio.gather(*(send(s) for s in streams))
    count = await services.wait_topic_count(bootstrap, topic, already + events, 120)
    wall, cpu = time.perf_counter() - t0, component.cpu() - cpu0
    if count != already + events:
        raise RuntimeError(f"syslog: {count - already} of {events} lines in Kafka")
    return Timing(events, wall, cpu)
