"""Packed entries keep the sender's bytes of each record in the raw record: the processor
reads exactly what it reads when the collector packs the decoded record again."""

from __future__ import annotations

import struct

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitacora import rawrecord
from bitacora.collector.forward.decode import ForwardDecoder
from bitacora.collector.forward.request import Request
from bitacora.collector.records import raw_records
from tests.helpers.forward_entries import drawn_entries, event_time, time_bytes

CAP = 1 << 20


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


@given(st.data(), st.booleans())
def test_raw_records_from_the_senders_bytes_read_as_the_packed_again_ones(
    data: st.DataObject, single_floats: bool
) -> None:
    entries = data.draw(drawn_entries(single_floats, 5))
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
