"""Pure, incremental decoder of the Fluentd forward protocol (FORWARD-PROTOCOL.md).

Feed it the bytes of one connection as they arrive; it returns the complete requests found
so far and keeps the rest. No I/O, no asyncio: the server only feeds and sends.

Strings are decoded as UTF-8 with ``surrogateescape`` instead of ``raw=True``: every byte
sequence survives a decode/encode round trip (invalid UTF-8 becomes lone surrogates, which
the raw-record encoder turns back into the same bytes), keys arrive as ``str`` for the
processor, and a ``str`` chunk id stays a ``str`` while a ``bin`` one stays ``bytes``, so the
ack echoes the chunk with its msgpack type and bytes unchanged. Packed entries sent as
``str`` (Fluentd's str32 holding binary) are turned back into their exact bytes.

Policy for bad input (one place, documented here):
- bytes that are not msgpack, a frame that is not a forward request, a frame over
  ``max_frame_bytes`` or a payload inflating over ``max_decompressed_bytes``:
  ``DecodeError``; the server closes that connection without acknowledging.
- a bad event inside a well-formed request (non-map record, bad time, bad tag, an entry
  that is not ``[time, record]``, packed bytes that stop being msgpack, a corrupt
  compressed payload): listed in ``Request.rejected`` with a reason, dead-lettered, and the
  request is still acknowledged.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Final

import msgpack
import zstandard
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

_EVENT_TIME_CODE: Final = 0
_NS: Final = 1_000_000_000
_MAX_SECONDS: Final = 2**33  # year 2242: anything later is a bad time, not a log


class LimitExceeded(DecodeError):
    """A frame over ``max_frame_bytes`` or a payload inflating over ``max_decompressed_bytes``."""


@mypyc_attr(native_class=False)  # compiled (bitacora/compiled.py): an int stays a Python class
class EventTime(int):
    """An EventTime (ext type 0) already converted to nanoseconds since the epoch."""

    __slots__ = ()


def _ext_hook(code: int, data: bytes) -> Any:
    """Turn ext type 0 (EventTime, fixext8 or ext8) into nanoseconds; keep other exts."""
    if code == _EVENT_TIME_CODE and len(data) == 8:
        seconds, nanos = struct.unpack(">II", data)
        return EventTime(seconds * _NS + nanos)
    return msgpack.ExtType(code, data)


def _unpacker(cap: int) -> msgpack.Unpacker:
    # Every length limit equals the frame cap: a header announcing more elements than the
    # frame could hold bytes fails at once instead of allocating for it.
    return msgpack.Unpacker(
        raw=False,
        unicode_errors="surrogateescape",
        strict_map_key=False,
        ext_hook=_ext_hook,
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
    entries: list[tuple[int, dict[Any, Any]]]  # (time_ns, record)
    option: dict[Any, Any]
    chunk: str | bytes | None  # as received: echo it unchanged in the ack
    size: int  # bytes of the frame on the wire, for in-flight accounting
    signal: int | None = None  # option.fluent_signal (1 metrics, 2 traces): not logs
    rejected: list[Rejected] = field(default_factory=list)
    # Packed modes: each entry's record as its own msgpack, cut out of the payload (None
    # where it cannot be kept as is, see _own_record); the raw record reuses these bytes.
    packed: list[bytes | None] | None = None


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


def _pack_original(item: Any) -> bytes:
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
        return value * _NS if 0 <= value < _MAX_SECONDS else None
    if kind is float:
        if not 0.0 <= value < _MAX_SECONDS:
            return None
        whole = int(value)  # split first: value * 1e9 would lose the low digits
        fraction: float = value - whole
        return whole * _NS + round(fraction * _NS)
    if kind is list and len(value) == 2 and type(value[0]) is not list:
        return time_ns(value[0])
    if kind is msgpack.Timestamp:
        ns: int = value.to_unix_nano()
        return ns if 0 <= ns < _MAX_SECONDS * _NS else None
    return None


def _add_entry(req: Request, time_value: Any, record: Any, own: bytes | None = None) -> None:
    ns = time_ns(time_value)
    if ns is None:
        req.rejected.append(Rejected(BAD_TIME, _pack_original([time_value, record])))
    elif type(record) is not dict:
        req.rejected.append(Rejected(BAD_RECORD, _pack_original([time_value, record])))
    else:
        req.entries.append((ns, record))
        if req.packed is not None:
            req.packed.append(own)


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
    # EventTime is ext type 0 of 8 bytes: d7 00 (fixext8) or, in the ext8/16/32 forms,
    # its length 08 then type 00. The one-byte search is the quick one (no zero byte, no
    # EventTime); a match may be a false alarm, which only costs packing the record again.
    if b"\x00" in record and (b"\xd7\x00" in record or b"\x08\x00" in record):
        return None
    return record


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


def _decode_packed(req: Request, payload: str | bytes, cap: int) -> None:
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
    unpacker = _unpacker(max(cap, len(data), 1))
    unpacker.feed(data)
    req.packed = []
    start = 0
    try:
        for item in unpacker:
            end = unpacker.tell()
            if type(item) is list and len(item) == 2:
                _add_entry(req, item[0], item[1], _own_record(data, start, end))
            else:
                req.rejected.append(Rejected(BAD_ENTRY, _pack_original(item)))
            start = end
    except Exception:  # msgpack raises several unrelated types for bad bytes
        req.rejected.append(Rejected(BAD_PACKED, data[unpacker.tell() :]))


def decode_request(frame: Any, size: int, max_decompressed: int) -> Request | None:
    """Interpret one msgpack object as a forward request (None for a nil heartbeat).

    Raises DecodeError when the object is not a forward request at all.
    """
    if frame is None:
        return None
    if type(frame) is not list or not 2 <= len(frame) <= 4:
        raise DecodeError("frame is not a forward request [tag, ..., option?]")
    tag, second = frame[0], frame[1]
    kind = type(second)
    if kind is str or kind is bytes:
        mode, option_at = PACKED, 2
    elif kind is list and not (len(second) == 2 and time_ns(second) is not None):
        mode, option_at = FORWARD, 2
    else:
        mode, option_at = MESSAGE, 3
        if len(frame) < 3:
            raise DecodeError("message-mode frame has no record")
    if len(frame) > option_at + 1:
        raise DecodeError(f"{mode}-mode frame has {len(frame)} elements")
    option = frame[option_at] if len(frame) > option_at else None
    if option is None:
        option = {}
    elif type(option) is not dict:
        raise DecodeError("forward option is not a map")
    chunk = option.get("chunk")
    if chunk is not None and not isinstance(chunk, str | bytes):
        raise DecodeError("option.chunk is not a string")
    signal = option.get("fluent_signal")
    req = Request(
        tag if type(tag) is str else "",
        mode,
        [],
        option,
        chunk,
        size,
        signal if signal in (1, 2) else None,
    )
    if req.signal is not None:
        return req  # metrics or traces: acknowledged and counted, never decoded as logs
    if type(tag) is not str or not tag:
        req.rejected.append(Rejected(BAD_TAG, _pack_original(frame)))
        return req
    if mode == MESSAGE:
        _add_entry(req, second, frame[2])
    elif mode == FORWARD:
        for item in second:
            if type(item) is list and len(item) == 2:
                _add_entry(req, item[0], item[1])
            else:
                req.rejected.append(Rejected(BAD_ENTRY, _pack_original(item)))
    else:
        _decode_packed(req, second, max_decompressed)
    return req


class ForwardDecoder:
    """Incremental decoder for one connection: ``feed(bytes) -> [Request]``.

    Memory stays bounded: at most ``max_frame_bytes`` of one unfinished frame are buffered,
    and a compressed payload is inflated to at most ``max_decompressed_bytes``. After a
    DecodeError the decoder is unusable: close the connection.
    """

    def __init__(self, max_frame_bytes: int, max_decompressed_bytes: int) -> None:
        self._cap = max_frame_bytes
        self._max_decompressed = max_decompressed_bytes
        self._unpacker = _unpacker(max_frame_bytes)
        self._fed = 0
        self._start = 0  # stream offset where the current frame begins

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished frame held in memory."""
        return self._fed - self._start

    def feed(self, data: bytes) -> list[Request]:
        """Add received bytes; return every request completed by them (heartbeats dropped).

        Raises DecodeError for undecodable bytes, a frame that is not a forward request or
        a frame over the cap.
        """
        requests: list[Request] = []
        for frame, size in self.feed_objects(data):
            request = decode_request(frame, size, self._max_decompressed)
            if request is not None:
                requests.append(request)
        return requests

    def feed_objects(self, data: bytes) -> list[tuple[Any, int]]:
        """Add received bytes; return each completed msgpack object with its size in bytes.

        The handshake reads PING through this; ``decode_request`` interprets the rest.
        """
        objects: list[tuple[Any, int]] = []
        view = memoryview(data)
        while view:
            room = self._cap - self.buffered
            if room <= 0:
                raise LimitExceeded(f"frame exceeds max_frame_bytes ({self._cap})")
            piece, view = view[:room], view[room:]
            self._unpacker.feed(piece)
            self._fed += len(piece)
            self._drain(objects)
        if self.buffered >= self._cap:
            raise LimitExceeded(f"frame exceeds max_frame_bytes ({self._cap})")
        return objects

    def _drain(self, objects: list[tuple[Any, int]]) -> None:
        unpacker = self._unpacker
        try:
            for obj in unpacker:
                end = unpacker.tell()
                objects.append((obj, end - self._start))
                self._start = end
        except Exception as exc:  # msgpack raises several unrelated types
            raise DecodeError(f"undecodable forward bytes: {exc}") from exc
