"""The raw record: what the collector writes to ``logs.raw`` and the processor reads.

A compact msgpack array, one per log event, carrying everything the processor needs to
normalize the event and to give it a deterministic id:

``[version, tag, time_ns, record, received_ns, peer, transport, chunk, position]``

A ``logs.raw`` record holds one such array, or, with the ``events`` header
(:mod:`bitacora.bundles`), that many back to back: the collector bundles a
request's events per service (:func:`events_of` reads both; :func:`bundle_records` reads a
bundle in one call when it can).

``record`` is the sender's map as it arrived (keys and values may still be bytes holding
invalid UTF-8: the processor decides how to repair them). ``chunk`` is the sender's chunk id
(``option.chunk``) or None; ``position`` is the event's index inside its request, so a
retried chunk maps to the same ids while two identical lines stay two events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple, cast

import msgpack
import msgspec

from bitacora import bundles
from bitacora.errors import DecodeError

FORMAT_VERSION: Final = 1


class RawRecord(NamedTuple):
    """One log event as received, before normalization.

    A named tuple: :func:`decode` builds one with a single C call per event (the
    processor decodes every event), and compiled code reads its fields by position.
    """

    tag: str
    time_ns: int
    record: dict[Any, Any]
    received_ns: int
    peer: str
    transport: str  # "forward", "http", "otlp" or "syslog" (see normalize.sources)
    chunk: str | None = None
    position: int = 0


def encode(raw: RawRecord) -> bytes:
    """Serialize a raw record for Kafka (its fields as they are, in order: tests build
    records of the wrong types on purpose)."""
    packed: bytes = msgpack.packb(
        [FORMAT_VERSION, *raw],
        use_bin_type=True,
        unicode_errors="surrogateescape",  # invalid UTF-8 decoded by the collector round-trips
    )
    return packed


# Builds a RawRecord from its field values in one C call (no Python-level __new__).
_build = tuple.__new__


def decode(data: bytes) -> RawRecord:
    """Parse a raw record from Kafka; raises DecodeError on anything else."""
    try:
        item = msgpack.unpackb(
            data, raw=False, unicode_errors="surrogateescape", strict_map_key=False
        )
    except Exception as exc:  # msgpack raises several unrelated types
        raise DecodeError(f"raw record is not msgpack: {exc}") from exc
    return _from_item(item)


def events_of(
    data: bytes, headers: Sequence[tuple[str, bytes]]
) -> list[tuple[bytes, RawRecord | DecodeError]]:
    """Each event of a logs.raw record: its own bytes, and its raw record or why not.

    A record without the ``events`` header is one event. In a bundle, an event that does
    not decode is reported alone; bytes that are not msgpack end the bundle, reported as
    one piece.
    """
    if bundles.events_in(headers) is None:
        try:
            return [(data, decode(data))]
        except DecodeError as exc:
            return [(data, exc)]
        except (ValueError, TypeError, OverflowError) as exc:  # a field int() refuses
            return [(data, _bad_field(exc))]
    unpacker = msgpack.Unpacker(
        raw=False,
        unicode_errors="surrogateescape",
        strict_map_key=False,
        max_buffer_size=max(len(data), 1),
    )
    unpacker.feed(data)
    out: list[tuple[bytes, RawRecord | DecodeError]] = []
    start = 0
    try:
        for item in unpacker:
            end = unpacker.tell()
            try:
                out.append((data[start:end], _from_item(item)))
            except DecodeError as exc:
                out.append((data[start:end], exc))
            except (ValueError, TypeError, OverflowError) as exc:  # a field int() refuses
                out.append((data[start:end], _bad_field(exc)))
            start = end
    except Exception as exc:  # msgpack raises several unrelated types
        reason = f"raw record bundle is not msgpack from byte {start}: {exc!r}"
        out.append((data[start:], DecodeError(reason)))
        return out
    if start < len(data) or not out:
        out.append((data[start:], DecodeError("raw record bundle ends inside an event")))
    return out


# msgspec decodes a bundle in one call, with the bundle's count as an array header in front
# (events_of's Unpacker builds the same objects one event at a time, with more instructions:
# it interns every map key, where msgspec reuses the keys it has seen).
_ARRAY32: Final = b"\xdd"
_MAX_DEPTH: Final = 256  # deeper: events_of decides (the two decoders' nesting limits differ)
# First try: each event read as a raw record's types, and its record as a map of string keys
# to scalars, lists and maps, so msgspec checks in C what _plain_raw checks in Python (a
# union takes one str-like type: a bytes value fails here and the next try takes it).
_Value = str | int | float | bool | None | list[Any] | dict[Any, Any]
_TYPED: Final = msgspec.msgpack.Decoder(
    list[tuple[int, str, int, dict[str, _Value], int, str, str, str | None, int]]
)
# Then: any msgpack, each event walked (_plain_raw).
_ANY: Final = msgspec.msgpack.Decoder()


def bundle_records(data: bytes, headers: Sequence[tuple[str, bytes]]) -> list[RawRecord] | None:
    """Every event of a bundle as :func:`events_of` reads it, or None: then ``events_of``
    reads the bundle and says which events are bad.

    None unless the bundle holds exactly the events its header counts, each one a raw
    record whose fields have their types already (nothing that ``events_of`` would
    coerce) and whose record is plain data (str, bytes, int, float, bool, None, list and
    dict, no deeper than ``_MAX_DEPTH``). Where msgspec and msgpack differ (invalid
    UTF-8, extension types and timestamps, array map keys, nesting limits) the event is
    not plain or msgspec refuses it, so the records returned are always exactly those of
    ``events_of``.
    """
    count = bundles.events_in(headers)
    if count is None or count > 0xFFFFFFFF:
        return None
    framed = _ARRAY32 + count.to_bytes(4, "big") + data
    typed = typed_records(framed)
    return typed if typed is not None else walked_records(framed)


def typed_records(framed: bytes) -> list[RawRecord] | None:
    """:func:`bundle_records` of a framed bundle whose records have string keys and no
    bytes value at their top level (what services send); else None."""
    try:
        items: list[Any] = _TYPED.decode(framed)
    except Exception:  # also what walked_records reads: bytes values, other map keys
        return None
    out: list[RawRecord] = []
    for index in range(len(items)):  # typed below, so the compiled loop stays native
        item: tuple[Any, ...] = items[index]
        if item[0] != FORMAT_VERSION:
            return None
        record: dict[str, Any] = item[3]
        for value in record.values():
            kind = type(value)
            if (kind is dict or kind is list) and not _plain(value, 2):  # as _plain_raw
                return None
        out.append(_build(RawRecord, item[1:]))
    return out


def walked_records(framed: bytes) -> list[RawRecord] | None:
    """:func:`bundle_records` of a framed bundle, every value's type checked in Python."""
    try:
        items = _ANY.decode(framed)
    except Exception:  # malformed, truncated, invalid UTF-8, too deep: events_of says
        return None
    out: list[RawRecord] = []
    for item in items:
        raw = _plain_raw(item)
        if raw is None:
            return None
        out.append(raw)
    return out


def read_events(
    data: bytes, headers: Sequence[tuple[str, bytes]]
) -> tuple[Sequence[RawRecord | DecodeError], list[bytes] | None]:
    """The events of a logs.raw record as :func:`events_of` reads them, and each one's own
    bytes: None when :func:`bundle_records` read the bundle in one call (``events_of``
    cuts them when they are needed)."""
    raws = bundle_records(data, headers)
    if raws is not None:
        return raws, None
    events = events_of(data, headers)
    return [raw for _, raw in events], [value for value, _ in events]


def _plain_raw(item: Any) -> RawRecord | None:
    # The raw record of an event as msgspec built it, when each field already has the type
    # _from_item would give it (nothing to coerce: the usual case) and the record is plain;
    # else None.
    if type(item) is not list or len(item) != 9 or item[0] != FORMAT_VERSION:
        return None
    _, tag, time_ns, record, received_ns, peer, transport, chunk, position = item
    if (
        type(tag) is str
        and type(time_ns) is int
        and type(record) is dict
        and type(received_ns) is int
        and type(peer) is str
        and type(transport) is str
        and (chunk is None or type(chunk) is str)
        and type(position) is int
        and _plain(record, 1)  # at the depth the event's own array puts it
    ):
        fields = (tag, time_ns, record, received_ns, peer, transport, chunk, position)
        raw: RawRecord = _build(RawRecord, fields)
        return raw
    return None


def _plain(value: object, depth: int) -> bool:
    # Only types both decoders build alike (map keys: scalars), no deeper than _MAX_DEPTH.
    if _scalar(value):
        return True
    if depth >= _MAX_DEPTH:
        return False
    kind = type(value)
    if kind is dict:
        for key, item in cast("dict[Any, Any]", value).items():
            if not (_scalar(key) and (_scalar(item) or _plain(item, depth + 1))):
                return False
        return True
    if kind is list:
        items = cast("list[Any]", value)
        for index in range(len(items)):  # by index: the compiled loop stays native
            if not (_scalar(items[index]) or _plain(items[index], depth + 1)):
                return False
        return True
    return False


def _scalar(value: object) -> bool:
    # Spelled out: the compiled build makes each test a pointer comparison (a set costs more).
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bytes or kind is bool:
        return True
    return value is None


def _bad_field(exc: Exception) -> DecodeError:
    # decode() raises what int() raises for such a field (as it always did); events_of
    # reports it as the event's DecodeError.
    return DecodeError(f"raw record has a bad field: {exc}")


def _from_item(item: Any) -> RawRecord:
    if type(item) is not list or len(item) != 9 or item[0] != FORMAT_VERSION:
        raise DecodeError("raw record has the wrong shape or version")
    _, tag, time_ns, record, received_ns, peer, transport, chunk, position = item
    if type(tag) is not str or not isinstance(time_ns, int) or type(record) is not dict:
        raise DecodeError("raw record has a bad tag, time or record")
    # The fields are coerced as they always were (int(), str()), the usual types skip it.
    if type(received_ns) is not int:
        received_ns = int(received_ns)
    if type(peer) is not str:
        peer = str(peer)
    if type(transport) is not str:
        transport = str(transport)
    if type(position) is not int:
        position = int(position)
    fields = (tag, time_ns, record, received_ns, peer, transport, chunk, position)
    raw: RawRecord = _build(RawRecord, fields)
    return raw
