"""Forward requests and their events as the decoder reads them (FORWARD-PROTOCOL.md).

The request, its rejected events and their reasons, the protocol's time forms, and the
msgpack reading every mode shares (``decode`` reads frames, ``packed`` packed entries).
Strings are decoded as UTF-8 with ``surrogateescape``: see ``decode``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Final

import msgpack
from mypy_extensions import mypyc_attr

from bitacora.errors import DecodeError

# Modes, by the type of the request's second element.
MESSAGE: Final = "message"
FORWARD: Final = "forward"
PACKED: Final = "packed"
COMPRESSED: Final = "compressed"

# Rejection reasons (also the ``reason`` label of the rejection counter).
BAD_TAG: Final = "bad_tag"
BAD_TIME: Final = "bad_time"
BAD_RECORD: Final = "bad_record"
BAD_ENTRY: Final = "bad_entry"
BAD_PACKED: Final = "bad_packed_entries"
BAD_COMPRESSION: Final = "bad_compression"
UNSUPPORTED_COMPRESSION: Final = "unsupported_compression"

EVENT_TIME_CODE: Final = 0
NS: Final = 1_000_000_000
_MAX_SECONDS: Final = 2**33  # year 2242: anything later is a bad time, not a log


class LimitExceeded(DecodeError):
    """A frame over ``max_frame_bytes`` or a payload inflating over ``max_decompressed_bytes``."""


@mypyc_attr(native_class=False)  # compiled (bitacora/compiled.py): an int stays a Python class
class EventTime(int):
    """An EventTime (ext type 0) already converted to nanoseconds since the epoch."""

    __slots__ = ()


def event_time_ns(code: int, data: bytes) -> int | None:
    """Nanoseconds since the epoch of an EventTime (ext type 0 of 8 bytes: seconds and
    nanoseconds, big-endian), None for any other extension."""
    if code != EVENT_TIME_CODE or len(data) != 8:
        return None
    seconds, nanos = struct.unpack(">II", data)
    ns: int = seconds * NS + nanos
    return ns


def ext_hook(code: int, data: bytes) -> Any:
    """msgpack's hook: an EventTime (any ext form) as nanoseconds; other exts kept."""
    ns = event_time_ns(code, data)
    return msgpack.ExtType(code, data) if ns is None else EventTime(ns)


def new_unpacker(cap: int) -> msgpack.Unpacker:
    # Every length limit equals the frame cap: a header announcing more elements than the
    # frame could hold bytes fails at once instead of allocating for it.
    return msgpack.Unpacker(
        raw=False,
        unicode_errors="surrogateescape",
        strict_map_key=False,
        ext_hook=ext_hook,
        max_buffer_size=cap,
        max_str_len=cap,
        max_bin_len=cap,
        max_array_len=cap,
        max_map_len=cap,
        max_ext_len=cap,
    )


@dataclass(frozen=True, slots=True)
class Rejected:
    """An invalid event of a valid request: dead-lettered with its reason."""

    reason: str
    original: bytes  # msgpack of the offending item, or the undecodable bytes themselves


@dataclass(slots=True)
class Request:
    """One forward request: a Message, Forward, PackedForward or CompressedPackedForward."""

    tag: str
    mode: str
    # (time_ns, record); with decode_request's key_fields_only, packed records may be left
    # empty: ``services`` then holds their Kafka keys, ``packed`` the records.
    entries: list[tuple[int, dict[Any, Any]]]
    option: dict[Any, Any]
    chunk: str | bytes | None  # as received: echo it unchanged in the ack
    size: int  # bytes of the frame on the wire, for in-flight accounting
    signal: int | None = None  # option.fluent_signal (1 metrics, 2 traces): not logs
    rejected: list[Rejected] = field(default_factory=list)
    # Packed modes: each entry's record as its own msgpack, cut out of the payload (None
    # where it cannot be kept as is, see packed._own_record); the raw record reuses these.
    packed: list[bytes | None] | None = None
    # Each entry's Kafka key where the decoder read it (``packed._packed_by_count``), else None.
    services: list[str] | None = None


def to_bytes(value: str | bytes) -> bytes:
    """The exact bytes of a string decoded with ``surrogateescape`` (bytes pass through)."""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def chunk_id(chunk: str | bytes | None) -> str | None:
    """The chunk id as a stable ``str`` for the raw record.

    A valid UTF-8 string is kept as is (Fluentd's trailing newline included); anything
    else (``bin``, or a string holding invalid UTF-8) becomes ``"hex:" + its bytes in hex``,
    so one chunk always maps to one id and the processor can hash it.
    """
    if chunk is None:
        return None
    if isinstance(chunk, str):
        try:
            chunk.encode("utf-8")
            return chunk
        except UnicodeEncodeError:
            pass
    return "hex:" + to_bytes(chunk).hex()


def pack_original(item: Any) -> bytes:
    packed: bytes = msgpack.packb(item, use_bin_type=True, unicode_errors="surrogateescape")
    return packed


def time_ns(value: Any) -> int | None:
    """Nanoseconds since the epoch for every time form of the protocol, None if invalid.

    Integer seconds, float seconds, EventTime (ext 0), msgpack Timestamp (ext -1) and the
    v1.5 ``[time, metadata]`` pair (the metadata is not kept: RawRecord has no place for it).
    """
    kind = type(value)
    if kind is EventTime:
        return int(value)
    if kind is int:
        return value * NS if 0 <= value < _MAX_SECONDS else None
    if kind is float:
        if not 0.0 <= value < _MAX_SECONDS:
            return None
        whole = int(value)  # split first: value * 1e9 would lose the low digits
        fraction: float = value - whole
        return whole * NS + round(fraction * NS)
    if kind is list and len(value) == 2 and type(value[0]) is not list:
        return time_ns(value[0])
    if kind is msgpack.Timestamp:
        ns: int = value.to_unix_nano()
        return ns if 0 <= ns < _MAX_SECONDS * NS else None
    return None


def add_entry(req: Request, time_value: Any, record: Any, own: bytes | None = None) -> None:
    ns = time_ns(time_value)
    if ns is None:
        req.rejected.append(Rejected(BAD_TIME, pack_original([time_value, record])))
    elif type(record) is not dict:
        req.rejected.append(Rejected(BAD_RECORD, pack_original([time_value, record])))
    else:
        req.entries.append((ns, record))
        if req.packed is not None:
            req.packed.append(own)
