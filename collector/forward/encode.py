"""Client-side encoders of forward frames, for tests, golden files and benchmarks.

The collector itself never encodes forward frames (only acks); these build exactly what
real senders put on the wire: EventTime as fixext8 or ext8, packed entries as ``bin`` or as
Fluentd's ``str32`` holding binary, gzip with several members, zstd.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterable, Sequence
from typing import Any

import msgpack
import zstandard

Entry = tuple[Any, dict[str, Any]]  # (time in any wire form, record)


def event_time(seconds: int, nanos: int = 0, *, ext8: bool = False) -> msgpack.ExtType | bytes:
    """EventTime: ext type 0 with big-endian u32 seconds and u32 nanoseconds.

    ``ext8=True`` returns raw msgpack bytes using the ext8 header (0xc7 0x08 0x00) instead of
    fixext8, as some senders do; splice them with ``raw_time``.
    """
    body = struct.pack(">II", seconds, nanos)
    if ext8:
        return b"\xc7\x08\x00" + body
    return msgpack.ExtType(0, body)


def _pack(obj: Any) -> bytes:
    packed: bytes = msgpack.packb(obj, use_bin_type=True)
    return packed


def pack_entry(time: Any, record: dict[str, Any]) -> bytes:
    """``[time, record]`` as msgpack; ``time`` may be raw ext8 bytes from ``event_time``."""
    if isinstance(time, bytes):
        return b"\x92" + time + _pack(record)
    return _pack([time, record])


def message(
    tag: str, time: Any, record: dict[str, Any], option: dict[str, Any] | None = None
) -> bytes:
    """A Message-mode frame ``[tag, time, record, option?]``."""
    head = [tag, 0, record] if option is None else [tag, 0, record, option]
    if isinstance(time, bytes):  # raw ext8 time: splice it in place of the placeholder
        parts = [b"\x93" if option is None else b"\x94", _pack(tag), time, _pack(record)]
        if option is not None:
            parts.append(_pack(option))
        return b"".join(parts)
    head[1] = time
    return _pack(head)


def forward(tag: str, entries: Sequence[Entry], option: dict[str, Any] | None = None) -> bytes:
    """A Forward-mode frame ``[tag, [[time, record], ...], option?]``."""
    body = [[t, r] for t, r in entries]
    return _pack([tag, body] if option is None else [tag, body, option])


def _str_header(n: int) -> bytes:
    return b"\xdb" + struct.pack(">I", n)  # str32, as Fluentd sends packed entries


def _bin_header(n: int) -> bytes:
    if n < 256:
        return b"\xc4" + bytes([n])
    if n < 65536:
        return b"\xc5" + struct.pack(">H", n)
    return b"\xc6" + struct.pack(">I", n)


def packed(
    tag: str,
    entries: Iterable[Entry],
    option: dict[str, Any] | None = None,
    *,
    as_str: bool = False,
    compress: str | None = None,
    gzip_members: int = 1,
) -> bytes:
    """A PackedForward (or CompressedPackedForward) frame.

    ``as_str`` sends the payload as str32 (Fluentd) instead of bin; ``compress`` is "gzip"
    (split into ``gzip_members`` concatenated members) or "zstd"; ``option.compressed`` is
    set accordingly.
    """
    blobs = [pack_entry(t, r) for t, r in entries]
    option = dict(option or {})
    if compress == "gzip":
        per = max(1, -(-len(blobs) // gzip_members))
        groups = [b"".join(blobs[i : i + per]) for i in range(0, len(blobs), per)] or [b""]
        payload = b"".join(gzip.compress(g, mtime=0) for g in groups)
        option["compressed"] = "gzip"
    elif compress == "zstd":
        payload = zstandard.ZstdCompressor().compress(b"".join(blobs))
        option["compressed"] = "zstd"
    else:
        payload = b"".join(blobs)
    header = _str_header(len(payload)) if as_str else _bin_header(len(payload))
    parts = [b"\x93" if option else b"\x92", _pack(tag), header, payload]
    if option:
        parts.append(_pack(option))
    return b"".join(parts)


def sample_record(i: int, service: str = "review-service") -> dict[str, Any]:
    """A realistic service log record (used by benchmarks)."""
    return {
        "service": service,
        "level": "info" if i % 10 else "error",
        "logger": "app.reviews",
        "message": f"review {i} stored for product {i % 97} in 12.{i % 10}ms",
        "trace_id": f"{i:032x}",
    }


def packed_forward_frames(
    frames: int,
    events_per_frame: int = 100,
    *,
    tag: str = "review-service.app",
    chunked: bool = True,
    compress: str | None = None,
    start_seconds: int = 1_700_000_000,
) -> list[bytes]:
    """``frames`` PackedForward frames of ``events_per_frame`` EventTime events each.

    With ``chunked`` every frame carries a unique ``option.chunk`` (the sender wants an
    ack). Benchmarks reuse this to drive the collector.
    """
    out = []
    for f in range(frames):
        base = f * events_per_frame
        entries = []
        for i in range(base, base + events_per_frame):
            when = event_time(start_seconds + i // 1000, i % 1000 * 1000)
            entries.append((when, sample_record(i)))
        option = {"chunk": f"bench-{f:08d}\n", "size": events_per_frame} if chunked else None
        out.append(packed(tag, entries, option, compress=compress))
    return out
