"""Kafka key, raw-record value and dead letter built from decoded events."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bitacora import bundles, rawrecord
from bitacora.collector.app import Collector
from bitacora.collector.records import (
    bundle,
    deadletter,
    raw_records,
    service_of,
    split_oversized,
)
from bitacora.deadletter import MAX_ORIGINAL_BYTES
from bitacora.errors import ConfigError
from bitacora.partitions import partition_for
from bitacora.rawrecord import RawRecord
from bitacora.settings import Settings


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"service": "review-service"}, "review-service"),
        ({"service": {"name": "order-service"}}, "order-service"),
        ({"service.name": "user-service"}, "user-service"),
        ({"service_name": "contact-service"}, "contact-service"),
        ({"kubernetes": {"labels": {"app": "product-service"}}}, "product-service"),
        ({"kubernetes": {"labels": {"app.kubernetes.io/name": "api"}}}, "api"),
        ({"service": ""}, "tagged"),
        ({"service": 5}, "tagged"),
        ({"kubernetes": "weird"}, "tagged"),
        ({}, "tagged"),
    ],
)
def test_service_of(record: dict[str, Any], expected: str) -> None:
    assert service_of("tagged.app.x", record) == expected


def test_raw_records_are_what_rawrecord_encodes() -> None:
    entries = [(1, {"message": "a", "service": "svc"}), (2, {"message": "b"})]
    out = raw_records("tag.one", entries, 99, "127.0.0.1:5", "forward", "chunk\n")
    assert [key for key, _ in out] == [b"svc", b"tag"]
    expected = [
        RawRecord("tag.one", 1, entries[0][1], 99, "127.0.0.1:5", "forward", "chunk\n", 0),
        RawRecord("tag.one", 2, entries[1][1], 99, "127.0.0.1:5", "forward", "chunk\n", 1),
    ]
    assert [value for _, value in out] == [rawrecord.encode(r) for r in expected]
    assert [rawrecord.decode(value) for _, value in out] == expected


def test_invalid_utf8_survives_byte_for_byte() -> None:
    record = {"message": "ok\udcff", "k\udcfe": b"\x00bin"}
    [(_, value)] = raw_records("t", [(1, record)], 2, "p", "forward", None)
    assert b"ok\xff" in value
    assert b"k\xfe" in value
    assert rawrecord.decode(value).record == record
    assert value == rawrecord.encode(RawRecord("t", 1, record, 2, "p", "forward", None, 0))


def test_settings_the_collector_refuses(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="kafka_compression"):
        Settings(kafka_compression="brotli")  # type: ignore[arg-type]
    users = tmp_path / "users"
    users.write_text("alice:pw\n")
    with pytest.raises(ConfigError, match="forward_shared_key"):
        Collector(Settings(forward_users_file=users))


def test_deadletter_document() -> None:
    doc = json.loads(deadletter("bad_time", b"\x92\xa1x\x80", "t.x", 5, "1.2.3.4:1", "forward"))
    assert doc == {
        "@timestamp": "1970-01-01T00:00:00.000Z",
        "deadletter": {
            "stage": "collector",
            "error_type": "bad_time",
            "reason": "bad_time",
            "original": base64.b64encode(b"\x92\xa1x\x80").decode(),
            "original_encoding": "base64",
            "original_bytes": 4,
            "original_truncated": False,
            "source": {"peer": "1.2.3.4:1", "transport": "forward"},
        },
        "event": {"dataset": "t.x"},
    }


def test_deadletter_keeps_a_bounded_redacted_original() -> None:
    doc = json.loads(deadletter("record_too_large", b"x" * 3_000_000, "t", 1, "p", "http"))
    letter = doc["deadletter"]
    assert (letter["original_bytes"], letter["original_truncated"]) == (3_000_000, True)
    assert letter["original"] == "x" * MAX_ORIGINAL_BYTES
    secret = json.loads(deadletter("bad_json", b'{"password": "hunter2"', "t", 1, "p", "http"))
    assert "hunter2" not in json.dumps(secret)


def test_split_oversized() -> None:
    records = [(b"a", b"1" * 10), (b"b", b"2" * 11), (b"c", b"3" * 5)]
    assert split_oversized(records, 11) == (records, [])
    assert split_oversized(records, 10) == ([records[0], records[2]], [b"2" * 11])


@pytest.mark.parametrize(
    ("key", "java_murmur2"),
    [  # vectors of the Java client's murmur2 (Kafka's own UtilsTest)
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"abc", 479470107),
    ],
)
def test_partition_matches_kafkas_default_partitioner(key: bytes, java_murmur2: int) -> None:
    assert partition_for(key, 6) == (java_murmur2 & 0x7FFFFFFF) % 6


def test_a_requests_records_are_bundled_per_key_in_order_within_the_limit() -> None:
    entries = [(i, {"message": f"m{i}", "service": "ab"[i % 2]}) for i in range(7)]
    records = raw_records("t", entries, 2, "p", "forward", None)
    size = len(records[0][1])
    assert all(len(value) == size for _, value in records)  # equal sizes: exact limits
    out = bundle(records, limit=3 * size)
    assert [(key, events) for key, _, events in out] == [(b"a", 3), (b"a", 1), (b"b", 3)]
    # Each bundle is its events' raw records back to back, read back one by one.
    pieces = [p for _, value, n in out for p, _ in rawrecord.events_of(value, bundles.header(n))]
    assert pieces == [v for k, v in records if k == b"a"] + [v for k, v in records if k == b"b"]
    raws = [raw for _, value, n in out for _, raw in rawrecord.events_of(value, bundles.header(n))]
    assert raws == [rawrecord.decode(v) for k, v in records if k == b"a"] + [
        rawrecord.decode(v) for k, v in records if k == b"b"
    ]
