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

from typing import Any

from bitacora.collector.forward.packed import decode_packed
from bitacora.collector.forward.request import (
    BAD_ENTRY,
    BAD_TAG,
    FORWARD,
    MESSAGE,
    PACKED,
    LimitExceeded,
    Rejected,
    Request,
    add_entry,
    new_unpacker,
    pack_original,
    time_ns,
)
from bitacora.errors import DecodeError


def decode_request(
    frame: Any, size: int, max_decompressed: int, key_fields_only: bool = False
) -> Request | None:
    """Interpret one msgpack object as a forward request (None for a nil heartbeat).

    ``key_fields_only``: a PackedForward request that counts its entries may be read
    without building its records (``packed._packed_by_count``): ``entries``' records are then
    left empty, ``services`` holds each one's Kafka key (``service_of``) and ``packed``
    its bytes, from which ``raw_records`` builds the same raw records. For the collector,
    which needs nothing else of a record; anything that reads records leaves it False.

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
        req.rejected.append(Rejected(BAD_TAG, pack_original(frame)))
        return req
    if mode == MESSAGE:
        add_entry(req, second, frame[2])
    elif mode == FORWARD:
        for item in second:
            if type(item) is list and len(item) == 2:
                add_entry(req, item[0], item[1])
            else:
                req.rejected.append(Rejected(BAD_ENTRY, pack_original(item)))
    else:
        decode_packed(req, second, max_decompressed, key_fields_only)
    return req


class ForwardDecoder:
    """Incremental decoder for one connection: ``feed(bytes) -> [Request]``.

    Memory stays bounded: at most ``max_frame_bytes`` of one unfinished frame are buffered,
    and a compressed payload is inflated to at most ``max_decompressed_bytes``. After a
    DecodeError the decoder is unusable: close the connection.
    """

    def __init__(
        self, max_frame_bytes: int, max_decompressed_bytes: int, key_fields_only: bool = False
    ) -> None:
        self._cap = max_frame_bytes
        self._max_decompressed = max_decompressed_bytes
        self._key_fields_only = key_fields_only  # see decode_request
        self._unpacker = new_unpacker(max_frame_bytes)
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
            request = decode_request(frame, size, self._max_decompressed, self._key_fields_only)
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
