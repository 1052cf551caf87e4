"""Property-based fuzzing of the forward decoder: only DecodeError escapes, memory bounded."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitacora.collector.forward.decode import ForwardDecoder
from bitacora.errors import DecodeError

GOLDEN = sorted((Path(__file__).parents[2] / "data" / "forward").glob("*.bin"))
FRAME_CAP = 64 * 1024
INFLATE_CAP = 256 * 1024

msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=20,
)

# Headers announcing huge containers or strings, spliced into random bytes.
huge_headers = st.sampled_from(
    [
        b"\xdd\xff\xff\xff\xff",  # array32 of 4G elements
        b"\xdf\xff\xff\xff\xff",  # map32
        b"\xdb\xff\xff\xff\xff",  # str32
        b"\xc6\x7f\xff\xff\xff",  # bin32
        b"\xc9\x7f\xff\xff\xff\x00",  # ext32
        b"\xdc\xff\xff" * 50,  # nested array16
    ]
)


def feed_all(pieces: list[bytes]) -> None:
    # Both readings of packed entries: built, and by count without records (the server's).
    for key_fields_only in (False, True):
        decoder = ForwardDecoder(FRAME_CAP, INFLATE_CAP, key_fields_only)
        try:
            for piece in pieces:
                decoder.feed(piece)
                assert decoder.buffered <= FRAME_CAP
        except DecodeError:
            pass  # the only error allowed out: the server closes that connection


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_random_bytes(pieces: list[bytes]) -> None:
    feed_all(pieces)


@settings(max_examples=400, deadline=None)
@given(st.lists(msgpack_values, max_size=5), st.integers(min_value=1, max_value=50))
def test_random_msgpack_objects_in_random_pieces(values: list[object], step: int) -> None:
    data = b"".join(msgpack.packb(v, use_bin_type=True) for v in values)
    feed_all([data[i : i + step] for i in range(0, len(data), step)])


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(GOLDEN),
    st.integers(min_value=0, max_value=10_000),
    st.binary(max_size=40),
    st.booleans(),
)
def test_truncated_and_corrupted_golden_frames(
    path: Path, cut: int, junk: bytes, truncate: bool
) -> None:
    frame = path.read_bytes()
    cut %= len(frame) + 1
    data = frame[:cut] if truncate else frame[:cut] + junk + frame[cut + len(junk) :]
    feed_all([data, frame])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=50), huge_headers, st.binary(max_size=50))
def test_huge_headers_keep_memory_bounded(before: bytes, header: bytes, after: bytes) -> None:
    tracemalloc.start()
    try:
        feed_all([before + header + after, after * 3])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=2**32), huge_headers)
def test_packed_payloads_that_claim_a_count(payload: bytes, size: int, header: bytes) -> None:
    # option.size sends the payload to msgspec with an array header of that count.
    for body in (payload, header + payload):
        feed_all([msgpack.packb(["app.t", body, {"size": size}], use_bin_type=True)])
