"""OTLP on the real Kafka: HTTP (protobuf, JSON, gzip) and gRPC, partial success, retries,
auth, limits, unknown paths, Kafka unavailable."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from bitacora.collector.app import Collector
from bitacora.collector.otlp.decode import parse_request
from bitacora.settings import Settings
from tests.integration.collector.helpers import read_raw, read_topic

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"


def request_json(service: str, bad_trace: bool = False) -> dict[str, Any]:
    """An OTLP/JSON request: two records, the second maybe with a 3-byte trace id."""
    return {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": service}},
                        {"key": "host.name", "value": {"stringValue": "web-1"}},
                    ]
                },
                "scopeLogs": [
                    {
                        "scope": {"name": "shop.orders", "version": "1.0"},
                        "logRecords": [
                            {
                                "timeUnixNano": "1764320000123456789",
                                "severityNumber": 17,
                                "severityText": "ERROR",
                                "body": {"stringValue": "order 42 failed"},
                                "attributes": [
                                    {"key": "order.id", "value": {"intValue": "42"}},
                                    {"key": "ok", "value": {"boolValue": False}},
                                    {
                                        "key": "tags",
                                        "value": {
                                            "arrayValue": {
                                                "values": [
                                                    {"stringValue": "a"},
                                                    {"doubleValue": 1.5},
                                                ]
                                            }
                                        },
                                    },
                                ],
                                "traceId": TRACE,
                                "spanId": SPAN,
                            },
                            {
                                "observedTimeUnixNano": "1764320001000000000",
                                "body": {
                                    "kvlistValue": {
                                        "values": [
                                            {"key": "msg", "value": {"stringValue": "map body"}},
                                            {"key": "raw", "value": {"bytesValue": "AAE="}},
                                        ]
                                    }
                                },
                                "traceId": "abcdef" if bad_trace else "",
                            },
                        ],
                    }
                ],
            }
        ]
    }


def as_protobuf(document: dict[str, Any]) -> bytes:
    """The same request in protobuf (OTLP/JSON hex ids read by the input's JSON decoder)."""
    return parse_request(json.dumps(document).encode(), "json").SerializeToString()


async def post(
    port: int, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}{path}", data=body, headers=headers) as response,
    ):
        return response.status, await response.read(), response.content_type


EXPECTED_FIRST = {
    "resource": {"service.name": "svc-a", "host.name": "web-1"},
    "scope": {"name": "shop.orders", "version": "1.0"},
    "time_unix_nano": 1764320000123456789,
    "severity_number": 17,
    "severity_text": "ERROR",
    "body": "order 42 failed",
    "attributes": {"order.id": 42, "ok": False, "tags": ["a", 1.5]},
    "trace_id": TRACE,
    "span_id": SPAN,
}
EXPECTED_SECOND = {
    "resource": {"service.name": "svc-a", "host.name": "web-1"},
    "scope": {"name": "shop.orders", "version": "1.0"},
    "observed_time_unix_nano": 1764320001000000000,
    "body": {"msg": "map body", "raw": "AAE="},
}


@pytest.mark.parametrize("encoding", ["protobuf", "json", "json+gzip"])
async def test_http_export_publishes_one_raw_record_per_log_record(
    collector: Collector, kafka_bootstrap: str, encoding: str
) -> None:
    document = request_json("svc-a")
    body = as_protobuf(document) if encoding == "protobuf" else json.dumps(document).encode()
    headers = dict(PROTOBUF if encoding == "protobuf" else JSON)
    if encoding.endswith("gzip"):
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    status, answer, content_type = await post(collector.otlp.port, "/v1/logs", body, headers)
    assert status == 200
    if encoding == "protobuf":
        assert content_type == "application/x-protobuf"
        assert ExportLogsServiceResponse.FromString(answer) == ExportLogsServiceResponse()
    else:
        assert content_type == "application/json"
        assert json.loads(answer) == {}
    raws = await read_raw(kafka_bootstrap, collector.settings.topic_raw, 2)
    assert [(r.tag, r.transport, r.time_ns, r.position) for r in raws] == [
        ("otlp", "otlp", 0, 0),
        ("otlp", "otlp", 0, 1),
    ]
    assert [r.record for r in raws] == [EXPECTED_FIRST, EXPECTED_SECOND]
    assert raws[0].chunk is not None
    assert raws[0].chunk.startswith("otlp:")
    assert raws[0].chunk == raws[1].chunk


async def test_a_retried_export_gives_the_same_chunk_and_positions(
    collector: Collector, kafka_bootstrap: str
) -> None:
    body = as_protobuf(request_json("svc-a"))
    for _ in range(2):
        status, _, _ = await post(collector.otlp.port, "/v1/logs", body, PROTOBUF)
        assert status == 200
    raws = await read_raw(kafka_bootstrap, collector.settings.topic_raw, 4)
    ids = sorted((r.chunk, r.position) for r in raws)
    assert ids[0] == ids[1]
    assert ids[2] == ids[3]
    assert ids[0] != ids[2]


async def test_a_bad_record_is_dead_lettered_and_reported_in_partial_success(
    collector: Collector, kafka_bootstrap: str
) -> None:
    body = as_protobuf(request_json("svc-a", bad_trace=True))
    status, answer, _ = await post(collector.otlp.port, "/v1/logs", body, PROTOBUF)
    assert status == 200
    response = ExportLogsServiceResponse.FromString(answer)
    assert response.partial_success.rejected_log_records == 1
    assert response.partial_success.error_message == "dead-lettered: bad_trace_id"
    raws = await read_raw(kafka_bootstrap, collector.settings.topic_raw, 1)
    assert [r.record for r in raws] == [EXPECTED_FIRST]
    letters = await read_topic(kafka_bootstrap, collector.settings.topic_deadletter, 1)
    letter = json.loads(letters[0].value)["deadletter"]
    assert (letter["reason"], letter["stage"], letter["source"]["transport"]) == (
        "bad_trace_id",
        "collector",
        "otlp_http",
    )


async def test_grpc_export_and_its_errors(
    make_settings: Callable[..., Settings],
    start_collector: Callable[[Settings], Any],
    kafka_bootstrap: str,
) -> None:
    collector = await start_collector(make_settings(http_token="s3cret", max_http_body_bytes=4096))
    body = as_protobuf(request_json("svc-a", bad_trace=True))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{collector.otlp_grpc.port}") as channel:
        export = channel.unary_unary(EXPORT)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await export(body)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        auth = (("authorization", "Bearer s3cret"),)
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await export(b"\xff\xff not protobuf", metadata=auth)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as large:
            await export(b"\x0a" + b"x" * 5000, metadata=auth)
        assert large.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        answer = await export(body, metadata=auth, compression=grpc.Compression.Gzip)
    response = ExportLogsServiceResponse.FromString(answer)
    assert response.partial_success.rejected_log_records == 1
    raws = await read_raw(kafka_bootstrap, collector.settings.topic_raw, 1)
    assert [r.record for r in raws] == [EXPECTED_FIRST]
    assert raws[0].peer.startswith("ipv4:127.0.0.1:")


async def test_http_auth_limits_and_content_types(
    make_settings: Callable[..., Settings],
    start_collector: Callable[[Settings], Any],
    kafka_bootstrap: str,
) -> None:
    collector = await start_collector(
        make_settings(http_token="s3cret", max_http_body_bytes=4096, max_decompressed_bytes=8192)
    )
    port = collector.otlp.port
    body = as_protobuf(request_json("svc-a"))
    auth = {**PROTOBUF, "Authorization": "Bearer s3cret"}
    assert (await post(port, "/v1/logs", body, PROTOBUF))[0] == 401
    assert (await post(port, "/v1/logs", b"x" * 5000, auth))[0] == 413
    bomb = gzip.compress(b"\x00" * 100_000)
    assert (await post(port, "/v1/logs", bomb, {**auth, "Content-Encoding": "gzip"}))[0] == 413
    assert (await post(port, "/v1/logs", body, {**auth, "Content-Type": "text/plain"}))[0] == 415
    assert (await post(port, "/v1/logs", b"\xff\xff\xff", auth))[0] == 400
    assert (await post(port, "/v1/logs", body, auth))[0] == 200
    assert len(await read_raw(kafka_bootstrap, collector.settings.topic_raw, 2)) == 2


async def test_unknown_paths_answer_404_and_store_nothing(
    collector: Collector, kafka_bootstrap: str
) -> None:
    body = as_protobuf(request_json("svc-a"))
    for port, path in [
        (collector.otlp.port, "/v1/traces"),
        (collector.otlp.port, "/v1/metrics"),
        (collector.otlp.port, "/logs"),
        (collector.otlp.port, "/v1/logs/extra"),
        (collector.http_port, "/v1/logs"),
        (collector.http_port, "/v1/traces"),
    ]:
        status, answer, _ = await post(port, path, body, PROTOBUF)
        assert status == 404, (port, path, answer)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{collector.otlp.port}/nothing") as response,
    ):
        assert response.status == 404
    # A marker request afterwards is the only thing in the topic.
    assert (await post(collector.otlp.port, "/v1/logs", body, PROTOBUF))[0] == 200
    assert len(await read_raw(kafka_bootstrap, collector.settings.topic_raw, 2)) == 2
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{collector.http_port}/metrics") as response,
    ):
        metrics = await response.text()
    assert (
        'bitacora_collector_rejections_total{reason="unknown_path",source="http"} 2.0\n' in metrics
    )


async def test_kafka_unavailable_is_503_and_grpc_unavailable(
    make_settings: Callable[..., Settings], start_collector: Callable[[Settings], Any]
) -> None:
    collector = await start_collector(
        make_settings(kafka_bootstrap="127.0.0.1:9", http_publish_timeout_s=1.0)
    )
    body = as_protobuf(request_json("svc-a"))
    assert (await post(collector.otlp.port, "/v1/logs", body, PROTOBUF))[0] == 503
    async with grpc.aio.insecure_channel(f"127.0.0.1:{collector.otlp_grpc.port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await channel.unary_unary(EXPORT)(body)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
