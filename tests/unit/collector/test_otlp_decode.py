"""OTLP request decoding: protobuf and JSON into the raw record maps (pure)."""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from bitacora.collector.otlp.decode import BadRequest, log_records, parse_request
from bitacora.collector.otlp.ingest import chunk_id


def _request() -> ExportLogsServiceRequest:
    nested = AnyValue()
    nested.kvlist_value.values.add(key="k", value=AnyValue(int_value=7))
    return ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(
                    attributes=[KeyValue(key="service.name", value=AnyValue(string_value="s1"))]
                ),
                scope_logs=[
                    ScopeLogs(
                        log_records=[
                            LogRecord(
                                time_unix_nano=5,
                                body=AnyValue(bytes_value=b"\x00\x01"),
                                attributes=[KeyValue(key="n", value=nested)],
                                trace_id=bytes(range(16)),
                                span_id=bytes(range(8)),
                            ),
                            LogRecord(span_id=b"\x01\x02"),
                            LogRecord(),
                        ]
                    )
                ],
            ),
            ResourceLogs(scope_logs=[ScopeLogs(log_records=[LogRecord(severity_number=9)])]),
        ]
    )


def test_protobuf_records_services_and_rejects() -> None:
    body = _request().SerializeToString()
    records, services, rejects = log_records(parse_request(body, "protobuf"))
    assert records == [
        {
            "resource": {"service.name": "s1"},
            "time_unix_nano": 5,
            "body": "AAE=",
            "attributes": {"n": {"k": 7}},
            "trace_id": "000102030405060708090a0b0c0d0e0f",
            "span_id": "0001020304050607",
        },
        {"resource": {"service.name": "s1"}},
        {"severity_number": 9},
    ]
    assert services == ["s1", "s1", "otlp"]
    assert [reason for reason, _ in rejects] == ["bad_span_id"]
    assert json.loads(rejects[0][1]) == {"spanId": "AQI="}


def test_json_ids_are_hex_and_keys_may_be_snake_case() -> None:
    document = {
        "resource_logs": [
            {
                "scope_logs": [
                    {
                        "log_records": [
                            {"trace_id": "000102030405060708090a0b0c0d0e0f", "span_id": "zz"}
                        ]
                    }
                ]
            }
        ]
    }
    records, _, rejects = log_records(parse_request(json.dumps(document).encode(), "json"))
    assert records == []
    assert [reason for reason, _ in rejects] == ["bad_span_id"]


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (b"\xff\xff\xff", "protobuf"),
        (b"[1]", "json"),
        (b"{", "json"),
        (b'{"resourceLogs": 3}', "json"),
    ],
)
def test_bodies_that_are_no_logs_request_raise(body: bytes, encoding: str) -> None:
    with pytest.raises(BadRequest):
        parse_request(body, encoding)  # type: ignore[arg-type]


def test_the_chunk_id_depends_on_the_body_only() -> None:
    assert chunk_id(b"a") == chunk_id(b"a") != chunk_id(b"b")
    assert chunk_id(b"a").startswith("otlp:")
    assert len(chunk_id(b"a")) == 5 + 32
