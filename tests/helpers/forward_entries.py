"""PackedForward entries as senders write them, for the forward decoder's tests: every time
form and records of every msgpack type the decoder meets."""

from __future__ import annotations

import struct
from typing import Any

import msgpack
from hypothesis import strategies as st


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


def drawn_entries(single_floats: bool, max_size: int) -> st.SearchStrategy[list[Any]]:
    """``(time form, seconds, nanoseconds, record)`` of 1 to ``max_size`` entries; senders
    packing floats as float32 send only what float32 holds."""
    floats = st.floats(allow_nan=False, width=32 if single_floats else 64)
    return st.lists(
        st.tuples(forms, st.integers(1, 2**32 - 1), st.integers(0, 999_999_999), records(floats)),
        min_size=1,
        max_size=max_size,
    )
