"""The Kafka ApiVersions probe's wire format."""

from __future__ import annotations

import struct

from bitacora.stack import health


def test_encode_api_versions_request() -> None:
    frame = health.encode_api_versions_request(7, "ab")
    assert frame == struct.pack(">ihhih", 12, 18, 0, 7, 2) + b"ab"


def test_parse_api_versions_response() -> None:
    payload = (
        struct.pack(">ihi", 7, 0, 2) + struct.pack(">hhh", 3, 0, 12) + struct.pack(">hhh", 18, 0, 4)
    )
    assert health.parse_api_versions_response(payload) == (7, 0, {3: (0, 12), 18: (0, 4)})


def test_nothing_listening_is_unhealthy() -> None:
    assert health.kafka_healthy("127.0.0.1", 1, timeout_s=0.2) is False
    assert health.opensearch_healthy("http://127.0.0.1:1", timeout_s=0.2) is False
    assert health.port_open("127.0.0.1", 1) is False
