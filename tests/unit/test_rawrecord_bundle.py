"""``rawrecord.bundle_records`` (one msgspec call per bundle) reads exactly what
``events_of`` (msgpack, event by event) reads, or declines and leaves the bundle to it."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitacora.bundles import header
from bitacora.rawrecord import (
    FORMAT_VERSION,
    RawRecord,
    bundle_records,
    encode,
    events_of,
    typed_records,
    walked_records,
)


def _pack(item: Any) -> bytes:
    return msgpack.packb(item, use_bin_type=True, unicode_errors="surrogateescape")  # type: ignore[no-any-return]


def _raw(record: Any, position: int = 0) -> bytes:
    return _pack([FORMAT_VERSION, "app.svc", 1_795_856_400_123_456_789, record, 5, "p", "forward",
                  "ck", position])  # fmt: skip


def _typed(value: Any) -> Any:
    # Equality that tells 1, 1.0 and True apart, and str from bytes: every value with its type.
    if isinstance(value, dict):
        return [(_typed(k), _typed(v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_typed(item) for item in value])
    return (type(value).__name__, repr(value))


def _by_events_of(data: bytes, count: int) -> list[Any]:
    return [_typed(list(raw)) for _, raw in events_of(data, header(count))]


RECORD = {
    "message": "GET /api/orders 200 12ms",
    "level": "INFO",
    "http.status": 200,
    "ratio": 0.25,
    "ok": True,
    "none": None,
    "blob": b"\x00\xff",
    7: "int key",
    b"bin": "bin key",
    "kubernetes": {"labels": {"app": "review-service"}, "ids": [1, 2.5, "x", [False]]},
    "año": "señal ✓",
}


def test_a_plain_bundle_is_read_in_one_call_as_events_of_reads_it() -> None:
    data = _raw(RECORD, 0) + _raw({"log": "second"}, 1) + _raw({}, 2)
    read = bundle_records(data, header(3))
    assert read is not None
    assert [type(raw) for raw in read] == [RawRecord] * 3
    assert [_typed(list(raw)) for raw in read] == _by_events_of(data, 3)
    assert read[0].record == RECORD


def _framed(data: bytes, count: int) -> bytes:
    return b"\xdd" + count.to_bytes(4, "big") + data  # as bundle_records frames a bundle


def test_string_keys_and_values_other_than_bytes_take_the_typed_read() -> None:
    record = {
        "message": "x",
        "n": 1,
        "f": 0.5,
        "ok": True,
        "none": None,
        "kubernetes": {"labels": {"app": "a"}, "ids": [1, b"\x00", {2: "int key"}]},
    }
    data = _raw(record) + _raw({"log": "y"}, 1)
    typed = typed_records(_framed(data, 2))
    assert typed is not None
    assert [_typed(list(raw)) for raw in typed] == _by_events_of(data, 2)
    assert bundle_records(data, header(2)) == typed


@pytest.mark.parametrize(
    "record",
    [{"blob": b"\x00\xff"}, {7: "int key"}, {b"bin": "bin key"}, {"none": None, None: 1}],
    ids=["bytes-value", "int-key", "bin-key", "nil-key"],
)
def test_what_the_typed_read_declines_the_walk_reads(record: dict[Any, Any]) -> None:
    data = _raw({"log": "fine"}) + _raw(record, 1)
    assert typed_records(_framed(data, 2)) is None
    walked = walked_records(_framed(data, 2))
    assert walked is not None
    assert [_typed(list(raw)) for raw in walked] == _by_events_of(data, 2)
    assert bundle_records(data, header(2)) == walked


def test_a_timestamp_nested_in_a_record_is_declined_by_both_reads() -> None:
    data = _raw({"at": {"t": [msgpack.Timestamp(1, 2)]}})
    assert typed_records(_framed(data, 1)) is None
    assert walked_records(_framed(data, 1)) is None


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "record",
    [
        {"log": "x\udcff"},  # invalid UTF-8: msgspec refuses it, msgpack escapes it
        {"at": msgpack.Timestamp(1, 2)},  # msgspec: a datetime; msgpack: a Timestamp
        {"x": msgpack.ExtType(5, b"ab")},  # msgspec: its own Ext; msgpack: an ExtType
        {"deep": _nested(300)},  # deeper than the fast path walks
    ],
    ids=["invalid-utf8", "timestamp", "ext", "deep"],
)
def test_what_the_two_decoders_read_differently_is_left_to_events_of(record: Any) -> None:
    data = _raw({"log": "fine"}) + _raw(record, 1)
    assert bundle_records(data, header(2)) is None
    assert [type(raw) for _, raw in events_of(data, header(2))] == [RawRecord, RawRecord]


def test_nesting_within_the_walk_is_read_in_one_call() -> None:
    data = _raw({"deep": _nested(250)})
    read = bundle_records(data, header(1))
    assert read is not None
    assert [_typed(list(read[0]))] == _by_events_of(data, 1)


def test_an_array_map_key_is_left_to_events_of() -> None:
    # msgspec reads an array key as a tuple; msgpack refuses it (lists are unhashable).
    record = b"\x81\x91\x01\xa1v"  # {[1]: "v"}
    data = _raw({"log": "fine"}) + _raw({"k": 1}).replace(b"\x81\xa1k\x01", record)
    assert bundle_records(data, header(2)) is None
    [(_, first), (_, error)] = events_of(data, header(2))
    assert isinstance(first, RawRecord)
    assert "unhashable" in str(error)


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        (_raw({"log": "a"}) + _raw({"log": "b"}), header(3)),  # fewer events than counted
        (_raw({"log": "a"}) + _raw({"log": "b"}), header(1)),  # more
        (_raw({"log": "a"}), []),  # not a bundle: one event, decode()
        (_raw({"log": "a"}) + b"\xc1", header(2)),  # garbage
        (_raw({"log": "a"}) + _pack([FORMAT_VERSION, "only", "four", 1]), header(2)),
        (_pack([1, "t", 1, {}, "soon", "p", "f", None, 0]), header(1)),  # int() refuses
        (_raw({"log": "a"}), [("events", b"99999999999")]),  # beyond an array's count
    ],
    ids=["fewer", "more", "no-header", "garbage", "bad-shape", "bad-field", "huge-count"],
)
def test_a_bundle_with_a_bad_event_or_count_is_left_to_events_of(
    data: bytes, headers: list[tuple[str, bytes]]
) -> None:
    assert bundle_records(data, headers) is None


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=8)
)
_KEYS = st.text(max_size=8) | st.integers(-5, 5) | st.binary(max_size=3) | st.none() | st.booleans()
_VALUES = st.recursive(
    _SCALARS | st.builds(msgpack.Timestamp, st.integers(0, 2**33), st.integers(0, 999_999_999)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


def _holds_timestamp(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_timestamp(k) or _holds_timestamp(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_timestamp(item) for item in value)
    return isinstance(value, msgpack.Timestamp)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(_KEYS, _VALUES, max_size=6), min_size=1, max_size=5))
def test_whatever_it_reads_equals_what_events_of_reads(records: list[dict[Any, Any]]) -> None:
    data = b"".join(_raw(record, index) for index, record in enumerate(records))
    read = bundle_records(data, header(len(records)))
    # Plain data is read in one call; a timestamp (an extension) sends the bundle to events_of.
    assert (read is None) == _holds_timestamp(records)
    if read is not None:
        assert [_typed(list(raw)) for raw in read] == _by_events_of(data, len(records))


_FIELD = _SCALARS | st.builds(msgpack.Timestamp, st.integers(0, 2**33), st.integers(0, 999))
_WELL_TYPED = (FORMAT_VERSION, "app.svc", 1, {"log": "x"}, 5, "p", "forward", "ck", 0)
_TYPES: dict[int, type] = {1: str, 2: int, 3: dict, 4: int, 5: str, 6: str, 8: int}


def _has_its_type(field: int, value: Any) -> bool:
    if field == 7:  # the chunk id
        return value is None or type(value) is str
    return type(value) is _TYPES[field]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 8), st.lists(_FIELD, min_size=1, max_size=4))
def test_a_field_of_another_type_leaves_the_bundle_to_events_of(
    field: int, values: list[Any]
) -> None:
    # One field of each event takes any plain value (or a timestamp): read in one call only
    # when every event's field already has the raw record's type (nothing to coerce).
    items = [[*_WELL_TYPED[:field], value, *_WELL_TYPED[field + 1 :]] for value in values]
    data = b"".join(_pack(item) for item in items)
    read = bundle_records(data, header(len(items)))
    assert (read is not None) == all(_has_its_type(field, value) for value in values)
    if read is not None:
        assert [_typed(list(raw)) for raw in read] == _by_events_of(data, len(items))


def test_encode_output_is_read_back() -> None:
    raw = RawRecord("t.app", 1, {"a": [1, {"b": None}]}, 2, "peer", "http", None, 0)
    assert bundle_records(encode(raw) + encode(raw), header(2)) == [raw, raw]
