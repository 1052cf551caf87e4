"""Packed entries keep the sender's bytes of each record in the raw record: the processor
reads exactly what it reads when the collector packs the decoded record again."""

from __future__ import annotations

import struct
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitacora import rawrecord
from bitacora.collector.forward.decode import ForwardDecoder, Request
from bitacora.collector.records import raw_records

CAP = 1 << 20


def event_time(seconds: int, nanos: int) -> msgpack.ExtType:
    return msgpack.ExtType(0, struct.pack(">II", seconds, nanos))


WIDE = {
    "uint16": (b"\xcd", ">H", 2**16),
    "uint64": (b"\xcf", ">Q", 2**33),
    "int8": (b"\xd0", ">b", 2**7),
    "int16": (b"\xd1", ">h", 2**15),
    "int32": (b"\xd2", ">i", 2**31),
    "int64": (b"\xd3", ">q", 2**33),
    "float32": (b"\xca", ">f", 2**33),
}


def time_bytes(form: str, seconds: int, nanos: int) -> bytes:
    """An entry's time as senders write it (a narrow form takes ``seconds`` modulo its
    range)."""
    if form == "int":
        return bytes(msgpack.packb(seconds))
    if form in WIDE:  # not always the shortest form: legal, and some senders write it
        code, layout, modulus = WIDE[form]
        return code + struct.pack(layout, seconds % modulus)
    if form == "float":
        return bytes(msgpack.packb(seconds + nanos / 1e9))
    if form == "ext8":
        return b"\xc7\x08\x00" + struct.pack(">II", seconds, nanos)
    if form == "timestamp":
        return bytes(msgpack.packb(msgpack.Timestamp(seconds, nanos)))
    return bytes(msgpack.packb(event_time(seconds, nanos)))


def request(entries: list[tuple[bytes, bytes]]) -> Request:
    """The one request of a PackedForward frame of ``(time bytes, record bytes)`` entries."""
    payload = b"".join(b"\x92" + when + record for when, record in entries)
    [req] = ForwardDecoder(CAP, CAP).feed(msgpack.packb(["app.svc", payload]))
    return req


def read(req: Request, *, packed: bool) -> list[tuple[bytes, rawrecord.RawRecord]]:
    out = raw_records(
        req.tag, req.entries, 7, "peer", "forward", "c", packed=req.packed if packed else None
    )
    return [(key, rawrecord.decode(value)) for key, value in out]


def records(floats: st.SearchStrategy[float]) -> st.SearchStrategy[dict[Any, Any]]:
    """Records of every msgpack type the decoder meets (ext types and timestamps too)."""
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**64 - 1)
        | floats
        | st.text(max_size=10)
        | st.binary(max_size=10)
        | st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=10))
        | st.builds(event_time, st.integers(0, 2**32 - 1), st.integers(0, 999_999_999))
        | st.builds(msgpack.Timestamp, st.integers(0, 2**34 - 1), st.integers(0, 999_999_999))
    )
    keys = st.text(max_size=8) | st.integers(-5, 300)
    values = st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=12,
    )
    return st.dictionaries(keys, values, max_size=6)


forms = st.sampled_from(["int", "float", "fixext8", "ext8", "timestamp", *WIDE])


@given(st.data(), st.booleans())
def test_raw_records_from_the_senders_bytes_read_as_the_packed_again_ones(
    data: st.DataObject, single_floats: bool
) -> None:
    # Senders packing floats as float32 send only what float32 holds.
    floats = st.floats(allow_nan=False, width=32 if single_floats else 64)
    entries = data.draw(
        st.lists(
            st.tuples(
                forms, st.integers(1, 2**32 - 1), st.integers(0, 999_999_999), records(floats)
            ),
            min_size=1,
            max_size=5,
        )
    )
    req = request(
        [
            (
                time_bytes(form, seconds, nanos),
                msgpack.packb(record, use_bin_type=True, use_single_float=single_floats),
            )
            for form, seconds, nanos, record in entries
        ]
    )
    assert len(req.entries) == len(entries)
    assert read(req, packed=True) == read(req, packed=False)


PLAIN = {"message": "GET /cart 200", "level": "info", "service": "cart", "seq": 0}


@pytest.mark.parametrize("form", ["int", "float", "fixext8", "ext8", "timestamp"])
def test_a_plain_record_is_kept_as_sent_and_its_raw_record_is_byte_identical(form: str) -> None:
    record = msgpack.packb(PLAIN, use_bin_type=True)
    req = request([(time_bytes(form, 1_795_000_000, 5), record)])
    assert req.packed == [record]
    spliced = raw_records(req.tag, req.entries, 7, "p", "forward", "c", packed=req.packed)
    assert spliced == raw_records(req.tag, req.entries, 7, "p", "forward", "c")


@pytest.mark.parametrize(
    "inner",
    [
        event_time(1_795_000_000, 1),  # fixext8: d7 00
        msgpack.ExtType(0, b"\x00" * 8),
    ],
)
def test_a_record_holding_an_event_time_is_packed_again(inner: msgpack.ExtType) -> None:
    # The decoder turns an EventTime anywhere into nanoseconds: the sender's bytes would not
    # read the same, so this record is packed again from what was decoded.
    req = request([(time_bytes("fixext8", 1_795_000_000, 0), msgpack.packb({"at": inner}))])
    assert req.packed == [None]
    [(_, raw)] = read(req, packed=True)
    assert raw.record == {
        "at": int(inner.data[:4].hex(), 16) * 10**9 + int(inner.data[4:].hex(), 16)
    }


@pytest.mark.parametrize(
    "prefix", [b"\xc7\x08\x00", b"\xc8\x00\x08\x00", b"\xc9\x00\x00\x00\x08\x00"]
)
def test_an_event_time_in_a_longer_ext_form_is_packed_again(prefix: bytes) -> None:
    body = struct.pack(">II", 1_795_000_000, 3)
    record = b"\x81\xa2at" + prefix + body  # {"at": EventTime} with a non-minimal ext header
    req = request([(time_bytes("int", 1_795_000_000, 0), record)])
    assert req.packed == [None]
    [(_, raw)] = read(req, packed=True)
    assert raw.record == {"at": 1_795_000_000 * 10**9 + 3}


def test_a_zero_byte_that_is_no_event_time_keeps_the_senders_bytes() -> None:
    record = msgpack.packb({"retries": 0, "size": 256, "ok": True})
    assert b"\x00" in record
    req = request([(time_bytes("fixext8", 1_795_000_000, 0), record)])
    assert req.packed == [record]


def test_an_entry_whose_time_form_has_no_fixed_size_is_packed_again() -> None:
    # Forward v1.5's [time, metadata] pair: the record's start is not known without decoding.
    when = msgpack.packb([event_time(1_795_000_000, 0), {"m": 1}])
    req = request([(when, msgpack.packb(PLAIN))])
    assert req.packed == [None]
    assert read(req, packed=True) == read(req, packed=False)
