"""Scenario 8 (malformed input) for the OTLP and syslog inputs: mutated protobuf requests
over HTTP and gRPC, garbage syslog frames among good ones on one TCP connection and over
UDP. The collector stays up, answers every request (never 5xx for bad input), keeps the
syslog connection, and the good events arrive exactly once; syslog lines that are not
syslog are dead-lettered by the normalizer with ``bad_syslog`` reasons."""

from __future__ import annotations

import asyncio
import json
import random
import socket

import aiohttp
import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from bitacora import rawrecord
from tests.reliability.harness import (
    Pipeline,
    read_normalized,
    read_raw_events,
    read_topic,
    wait_until,
)

pytestmark = [pytest.mark.stack, pytest.mark.timeout(240)]
EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


def _request(service: str, source: str, seqs: range) -> bytes:
    def attr(key: str, value: AnyValue) -> KeyValue:
        return KeyValue(key=key, value=value)

    records = [
        LogRecord(
            time_unix_nano=1_764_320_000_000_000_000 + seq,
            body=AnyValue(string_value=f"good {seq}"),
            attributes=[
                attr("source", AnyValue(string_value=source)),
                attr("seq", AnyValue(int_value=seq)),
            ],
        )
        for seq in seqs
    ]
    resource = Resource(attributes=[attr("service.name", AnyValue(string_value=service))])
    request = ExportLogsServiceRequest(
        resource_logs=[ResourceLogs(resource=resource, scope_logs=[ScopeLogs(log_records=records)])]
    )
    return request.SerializeToString()


def _mutations(valid: bytes, rng: random.Random, count: int) -> list[bytes]:
    out = [b"", b"\x00", b"\xff" * 64, b"\x0a\xff\xff\xff\xff\x0f", valid[: len(valid) // 2]]
    while len(out) < count:
        data = bytearray(valid)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        out.append(bytes(data))
    return out


def _otlp_seqs(raws: list[rawrecord.RawRecord], source: str) -> list[int]:
    seqs = []
    for raw in raws:
        attributes = raw.record.get("attributes") or {}
        if raw.transport == "otlp" and attributes.get("source") == source:
            seqs.append(attributes["seq"])
    return sorted(seqs)


async def test_08_malformed_otlp_protobuf(pipeline: Pipeline) -> None:
    collector = pipeline.start_collector()
    rng = random.Random(8)
    source = f"otlp8-{pipeline.rid}"
    valid = _request(f"{pipeline.prefix}-otlp", "mutant", range(20))
    statuses: dict[int, int] = {}
    url = f"http://127.0.0.1:{pipeline.otlp_http_port}/v1/logs"
    headers = {"Content-Type": "application/x-protobuf"}
    async with aiohttp.ClientSession() as session:
        for body in _mutations(valid, rng, 150):
            async with session.post(url, data=body, headers=headers) as response:
                statuses[response.status] = statuses.get(response.status, 0) + 1
        codes: dict[str, int] = {}
        async with grpc.aio.insecure_channel(f"127.0.0.1:{pipeline.otlp_grpc_port}") as channel:
            export = channel.unary_unary(EXPORT)
            for body in _mutations(valid, rng, 150):
                try:
                    await export(body, timeout=10)
                    code = "OK"
                except grpc.aio.AioRpcError as exc:
                    code = exc.code().name
                codes[code] = codes.get(code, 0) + 1
            assert collector.alive(), collector.log_tail()
            good = _request(f"{pipeline.prefix}-otlp", source, range(50))
            await export(good, timeout=10)
        async with session.post(
            url, data=_request(f"{pipeline.prefix}-otlp", source, range(50, 100)), headers=headers
        ) as response:
            assert response.status == 200
    assert set(statuses) <= {200, 400}, statuses
    assert statuses.get(400, 0) >= 4  # at least the certainly-broken ones
    assert set(codes) <= {"OK", "INVALID_ARGUMENT"}, codes
    raws = await read_raw_events(
        pipeline.settings.kafka_bootstrap, pipeline.env["BITACORA_TOPIC_RAW"]
    )
    assert _otlp_seqs(raws, source) == list(range(100))
    assert collector.alive()
    print(f"scenario 8 OTLP: HTTP {statuses}, gRPC {codes}, 100 good records exact")


def _frame(line: bytes) -> bytes:
    return b"%d %s" % (len(line), line)


async def test_08_malformed_syslog(pipeline: Pipeline) -> None:
    collector = pipeline.start_collector()
    pipeline.start_processor(roles=("normalize",))
    rng = random.Random(8)
    app = f"{pipeline.prefix}-sys"
    stream = bytearray()
    certain = 0
    for seq in range(100):
        stream += _frame(b"<13>1 - host %s - - - good %d" % (app.encode(), seq))
        garbage = bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
        if garbage[:1] != b"<":
            certain += 1  # no PRI: certainly not syslog
        stream += _frame(garbage)
    reader, writer = await asyncio.open_connection("127.0.0.1", pipeline.syslog_port)
    for start in range(0, len(stream), 997):  # odd-sized writes: frames split anywhere
        writer.write(stream[start : start + 997])
        await writer.drain()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for _ in range(50):
            udp.sendto(
                bytes(rng.randrange(256) for _ in range(64)), ("127.0.0.1", pipeline.syslog_port)
            )
    assert not reader.at_eof()  # the connection is kept
    writer.write(_frame(b"<13>1 - host %s - - - good 100" % app.encode()))
    await writer.drain()
    bootstrap = pipeline.settings.kafka_bootstrap

    async def normalized() -> list[str]:
        values = await read_normalized(bootstrap, pipeline.env["BITACORA_TOPIC_NORMALIZED"])
        return sorted(d["message"] for d in values if d.get("service.name") == app)

    expected = sorted(f"good {seq}" for seq in range(101))

    async def all_good() -> bool:
        return await normalized() == expected

    await wait_until(all_good, 90, "the 101 good lines normalized")
    writer.close()
    letters = [
        json.loads(v)["deadletter"]
        for _, v in await read_topic(bootstrap, pipeline.env["BITACORA_TOPIC_DEADLETTER"])
    ]
    bad = [d for d in letters if d["reason"].startswith("bad_syslog: ")]
    assert len(bad) >= certain, (len(bad), certain)
    assert {d["stage"] for d in bad} == {"normalize"}
    assert collector.alive()
    print(f"scenario 8 syslog: {len(bad)} bad lines dead-lettered ({certain} certain), 101 exact")
