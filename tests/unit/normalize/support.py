"""Shared helpers for the normalize tests: raw records and the expected document head."""

from __future__ import annotations

from hashlib import blake2b
from typing import Any

from bitacora.rawrecord import RawRecord

#: 2026-11-28T09:00:00.123456789Z
T = 1_795_856_400_123_456_789
#: received 5 ms later
RECEIVED = T + 5_000_000
CHUNK = "Y2h1bmstMQ=="


def raw(
    record: Any,
    tag: str = "review-service.app",
    time_ns: int = T,
    chunk: str | None = CHUNK,
    position: int = 0,
    received_ns: int = RECEIVED,
) -> RawRecord:
    """A raw record as the collector writes it."""
    return RawRecord(
        tag, time_ns, record, received_ns, "127.0.0.1:50000", "forward", chunk, position
    )


def chunk_id(chunk: str, position: int) -> str:
    """The expected event.id, computed independently of the code under test."""
    return blake2b(f"c:{chunk}:{position}".encode(), digest_size=16).hexdigest()


def head(
    tag: Any = "review-service.app",
    timestamp: Any = "2026-11-28T09:00:00.123456789Z",
    level: Any = "info",
    **fields: Any,
) -> dict[str, Any]:
    """The fixed part of an expected document plus ``fields`` (dotted names)."""
    severity = {"trace": 1, "debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}
    doc: dict[str, Any] = {
        "@timestamp": timestamp,
        "event.ingested": "2026-11-28T09:00:00.128Z",
        "event.id": chunk_id(CHUNK, 0),
        "event.dataset": tag,
        "event.severity": severity[level],
        "log.level": level,
    }
    doc.update(fields)
    return doc
