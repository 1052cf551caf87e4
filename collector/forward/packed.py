"""The entries of a PackedForward payload: compressed or not, read entry by entry or, when
the request counts them, in one go (``decode_packed``). Each record's own bytes are kept
where they read back as the decoded record, so the raw record reuses them.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import Any, Final, cast

import msgspec
import zstandard

from bitacora.collector.forward.request import (
    BAD_COMPRESSION,
    BAD_ENTRY,
    BAD_PACKED,
    COMPRESSED,
    UNSUPPORTED_COMPRESSION,
    LimitExceeded,
    Rejected,
    Request,
    add_entry,
    event_time_ns,
    new_unpacker,
    pack_original,
    time_ns,
    to_bytes,
)
from bitacora.collector.records import SERVICE_PROBE, probed_service, service_of

# The encoded size of an entry's time by its first byte: ints, floats, and the fixext
# forms of EventTime and msgpack timestamps (ext8, whose size is in its next byte, aside).
_TIME_SIZES: Final[dict[int, int]] = {
    **dict.fromkeys(range(0x00, 0x80), 1),  # positive fixint
    **dict.fromkeys(range(0xE0, 0x100), 1),  # negative fixint
    **{0xCC: 2, 0xCD: 3, 0xCE: 5, 0xCF: 9, 0xD0: 2, 0xD1: 3, 0xD2: 5, 0xD3: 9},
    **{0xCA: 5, 0xCB: 9, 0xD6: 6, 0xD7: 10},
}
_EXT8: Final = 0xC7
_FIXARRAY2: Final = 0x92


def _own_record(data: bytes, start: int, end: int) -> bytes | None:
    """The record of the entry ``data[start:end]`` (``[time, record]``) as its own bytes;
    None where they would not decode to what the collector decoded (an EventTime inside,
    which becomes nanoseconds), or the time's form has no fixed size (then it is packed
    again: the same raw record either way)."""
    if data[start] != _FIXARRAY2:
        return None
    first = data[start + 1]
    size = 3 + data[start + 2] if first == _EXT8 else _TIME_SIZES.get(first)
    if size is None:
        return None
    record = data[start + 1 + size : end]
    return None if _may_hold_event_time(record) else record


def _may_hold_event_time(record: bytes) -> bool:
    # EventTime is ext type 0 of 8 bytes: d7 00 (fixext8) or, in the ext8/16/32 forms,
    # its length 08 then type 00. The one-byte search is the quick one (no zero byte, no
    # EventTime); a match may be a false alarm, which only costs packing the record again.
    # find, not ``in``: bytes' ``in`` tries its operand as an integer first, and builds and
    # clears a TypeError for a bytes operand.
    return record.find(b"\x00") >= 0 and (
        record.find(b"\xd7\x00") >= 0 or record.find(b"\x08\x00") >= 0
    )


# PackedForward entries read with msgspec: once for each entry's time and the record's
# fields the Kafka key reads (``SERVICE_PROBE``; the rest of the record is skipped, not
# built), once for each record's own bytes.
_EXT: Final = msgspec.msgpack.Ext
_PROBED: Final = msgspec.msgpack.Decoder(
    list[tuple[int | float | msgspec.msgpack.Ext, SERVICE_PROBE]]
)
_OWN: Final = msgspec.msgpack.Decoder(list[tuple[msgspec.Raw, msgspec.Raw]])
_ARRAY32: Final = b"\xdd"
_MIN_ENTRY_BYTES: Final = 3  # [time, record]: 92, a fixint, an empty fixmap
# Entries read by count keep no record: their raw records are their own bytes.
_NO_FIELDS: Final[dict[Any, Any]] = {}


def _record_of(record: bytes) -> dict[Any, Any] | None:
    # One packed record decoded as the entry-by-entry read decodes it; None where it fails.
    unpacker = new_unpacker(max(len(record), 1))
    unpacker.feed(record)
    try:
        whole = unpacker.unpack()
    except Exception:  # msgpack raises several unrelated types for bad bytes
        return None
    return whole if type(whole) is dict else None


def _packed_by_count(req: Request, data: bytes) -> bool:
    """Read the entries of a PackedForward payload whose ``option.size`` counts them, as
    Fluentd and Fluent Bit send it: the count goes in front as an array header, so msgspec
    reads the payload as one array (two calls) and builds no record.

    True when it filled ``req.entries`` (times; records left empty), ``req.services`` and
    ``req.packed`` (the records' own bytes): the raw records are those of the
    entry-by-entry read. Taken only when every entry is a ``[time, map]`` with an integer,
    float or EventTime time in range, the map's keys strings and the fields the Kafka key
    reads of types msgpack builds alike; a record that may hold an EventTime is decoded
    and packed again, as entry by entry. Otherwise (a wrong count, a bad entry, anything
    else) False, with ``req`` untouched.

    One difference is left, for records msgpack cannot build and msgspec skips: a map
    keyed by a map or an array, a timestamp of a bad length, nesting deeper than msgpack's
    stack (msgspec's limit is the interpreter's recursion limit). Such a record is kept as
    its bytes and the normalize role dead-letters it, with the events after it in its
    bundle; the entry-by-entry read rejects it with the rest of the payload.
    """
    count = req.option.get("size")
    if type(count) is not int or not 0 < count <= len(data) // _MIN_ENTRY_BYTES:
        return False
    array = _ARRAY32 + count.to_bytes(4, "big") + data
    try:
        probed = _PROBED.decode(array)
        own = _OWN.decode(array)
    except (msgspec.DecodeError, RecursionError):
        return False
    entries: list[tuple[int, dict[Any, Any]]] = []
    services: list[str] = []
    packed: list[bytes | None] = []
    tag = req.tag
    for index in range(count):
        when, probe = probed[index]
        if type(when) is _EXT:  # None for another extension, or a msgpack timestamp
            ns = event_time_ns(when.code, cast(bytes, when.data))  # msgspec's Ext holds bytes
        else:
            ns = time_ns(when)
        if ns is None:
            return False
        record = bytes(own[index][1])
        if _may_hold_event_time(record):  # decoded and packed again, as entry by entry
            whole = _record_of(record)
            if whole is None:
                return False
            entries.append((ns, whole))
            services.append(service_of(tag, whole))
            packed.append(None)
            continue
        entries.append((ns, _NO_FIELDS))
        services.append(probed_service(tag, probe))
        packed.append(record)
    req.entries = entries
    req.services = services
    req.packed = packed
    return True


def decompress(payload: bytes, method: str, cap: int) -> bytes:
    """Inflate gzip (all members) or zstd (all frames), reading at most ``cap + 1`` bytes.

    Raises DecodeError over the cap (a bomb is never inflated past it) and ValueError for a
    corrupt payload.
    """
    try:
        if method == "gzip":
            with gzip.GzipFile(fileobj=io.BytesIO(payload)) as gz:
                out = gz.read(cap + 1)
        else:
            reader = zstandard.ZstdDecompressor().stream_reader(
                io.BytesIO(payload), read_across_frames=True
            )
            out = reader.read(cap + 1)
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as exc:
        raise ValueError(str(exc)) from exc
    if len(out) > cap:
        raise LimitExceeded(f"compressed payload inflates over max_decompressed_bytes ({cap})")
    return bytes(out)


def decode_packed(req: Request, payload: str | bytes, cap: int, key_fields_only: bool) -> None:
    data = to_bytes(payload)
    compressed = req.option.get("compressed")
    if compressed not in (None, "text"):
        if compressed not in ("gzip", "zstd"):
            req.rejected.append(Rejected(UNSUPPORTED_COMPRESSION, data))
            return
        req.mode = COMPRESSED
        try:
            data = decompress(data, compressed, cap)
        except ValueError:
            req.rejected.append(Rejected(BAD_COMPRESSION, data))
            return
    if key_fields_only and _packed_by_count(req, data):
        return
    unpacker = new_unpacker(max(cap, len(data), 1))
    unpacker.feed(data)
    req.packed = []
    start = 0
    try:
        for item in unpacker:
            end = unpacker.tell()
            if type(item) is list and len(item) == 2:
                add_entry(req, item[0], item[1], _own_record(data, start, end))
            else:
                req.rejected.append(Rejected(BAD_ENTRY, pack_original(item)))
            start = end
    except Exception:  # msgpack raises several unrelated types for bad bytes
        req.rejected.append(Rejected(BAD_PACKED, data[unpacker.tell() :]))
