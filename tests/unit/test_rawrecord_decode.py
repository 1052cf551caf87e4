"""``rawrecord.decode`` builds the same RawRecord the constructor builds, and rejects the
same inputs in the same way."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from bitacora.bundles import header
from bitacora.errors import DecodeError
from bitacora.rawrecord import FORMAT_VERSION, RawRecord, decode, encode, events_of

RAW = RawRecord(
    "app.svc", 1_795_856_400_123_456_789, {"log": "x\udcff", 1: b"b"}, 5, "p", "http", "ck", 3
)


def _pack(item: Any) -> bytes:
    return msgpack.packb(item, use_bin_type=True, unicode_errors="surrogateescape")  # type: ignore[no-any-return]


@pytest.mark.parametrize("raw", [RAW, RAW._replace(chunk=None, position=0, record={})])
def test_round_trip_equals_the_constructed_record(raw: RawRecord) -> None:
    decoded = decode(encode(raw))
    assert decoded == raw
    assert type(decoded) is RawRecord
    assert [getattr(decoded, name) for name in RawRecord._fields] == [
        getattr(raw, name) for name in RawRecord._fields
    ]
    assert hash(repr(decoded)) == hash(repr(raw))


def test_decoded_record_is_frozen() -> None:
    decoded = decode(encode(RAW))
    with pytest.raises(AttributeError):
        decoded.tag = "other"  # type: ignore[misc]


def test_fields_are_coerced_as_before() -> None:
    item = [FORMAT_VERSION, "t", 1, {}, 2.9, 7, b"forward", None, True]
    decoded = decode(_pack(item))
    assert decoded == RawRecord("t", 1, {}, 2, "7", "b'forward'", None, 1)
    # The version check compares with ==, so True (== 1) passes, as it always did.
    assert decode(_pack([True, "t", 1, {}, 2, "p", "f", None, 0])).tag == "t"
    # A bool time is an int to isinstance: it passes, as the integer it equals (the
    # compiled build stores it as that int).
    assert decode(_pack([1, "t", True, {}, 2, "p", "f", None, 0])).time_ns == 1


@pytest.mark.parametrize(
    "data",
    [
        b"\xc1",
        _pack({"not": "a list"}),
        _pack([1, "t", 1, {}, 2, "p", "f", None]),
        _pack([2, "t", 1, {}, 2, "p", "f", None, 0]),
        _pack([1, b"t", 1, {}, 2, "p", "f", None, 0]),
        _pack([1, "t", 1.5, {}, 2, "p", "f", None, 0]),
        _pack([1, "t", 1, [], 2, "p", "f", None, 0]),
    ],
)
def test_bad_records_raise_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(data)


def test_a_bad_received_time_raises_what_int_raises() -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        decode(_pack([1, "t", 1, {}, "soon", "p", "f", None, 0]))


def test_a_bundle_reads_as_its_events_and_a_record_without_header_as_one() -> None:
    other = RAW._replace(position=4, record={"log": "y"})
    bundle = encode(RAW) + encode(other)
    assert events_of(bundle, header(2)) == [(encode(RAW), RAW), (encode(other), other)]
    assert events_of(encode(RAW), []) == [(encode(RAW), RAW)]


def test_a_bad_event_in_a_bundle_is_reported_alone_and_garbage_ends_the_bundle() -> None:
    wrong_shape = _pack([FORMAT_VERSION, "only", "four", 1])
    read = events_of(encode(RAW) + wrong_shape + encode(RAW), header(3))
    assert [(piece, type(result)) for piece, result in read] == [
        (encode(RAW), RawRecord),
        (wrong_shape, DecodeError),
        (encode(RAW), RawRecord),
    ]
    [(first, ok), (rest, error)] = events_of(encode(RAW) + b"\xc1" + encode(RAW), header(2))
    assert (first, ok, rest) == (encode(RAW), RAW, b"\xc1" + encode(RAW))
    assert isinstance(error, DecodeError)
    assert str(error).startswith(f"raw record bundle is not msgpack from byte {len(first)}:")


@pytest.mark.parametrize("data", [b"", encode(RAW)[:-2]])
def test_an_empty_or_cut_bundle_is_one_error(data: bytes) -> None:
    [(piece, error)] = events_of(data, header(1))
    assert piece == data
    assert str(error) == "raw record bundle ends inside an event"


def test_an_undecodable_record_without_header_is_one_error() -> None:
    [(piece, error)] = events_of(b"\xc1", [])
    assert piece == b"\xc1"
    assert isinstance(error, DecodeError)


def test_a_field_int_refuses_is_a_decode_error_of_that_event_alone() -> None:
    bad = _pack([1, "t", 1, {}, "soon", "p", "f", None, 0])
    [(piece, error)] = events_of(bad, [])
    assert (piece, type(error)) == (bad, DecodeError)
    assert (
        str(error) == "raw record has a bad field: invalid literal for int() with base 10: 'soon'"
    )
    read = events_of(encode(RAW) + bad + encode(RAW), header(3))
    assert [(piece, type(result)) for piece, result in read] == [
        (encode(RAW), RawRecord),
        (bad, DecodeError),
        (encode(RAW), RawRecord),
    ]
