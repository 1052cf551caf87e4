"""The forward decoder against golden frames, splits, batches and limits."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path
from typing import Any

import msgpack
import pytest

from bitacora.collector.forward import encode
from bitacora.collector.forward.decode import ForwardDecoder
from bitacora.collector.forward.request import (
    COMPRESSED,
    FORWARD,
    MESSAGE,
    PACKED,
    LimitExceeded,
    Request,
    chunk_id,
    time_ns,
)
from bitacora.errors import DecodeError

GOLDEN = Path(__file__).parents[2] / "data" / "forward"
T = 1_700_000_000
S = 1_000_000_000
FLUENTD_CHUNK = "XGMaR1lhZ2hKd2V4N3k5Ug==\n"
MB = 1024 * 1024


def decoder(frame_cap: int = 6 * MB, inflate_cap: int = 64 * MB) -> ForwardDecoder:
    return ForwardDecoder(frame_cap, inflate_cap)


def golden(name: str) -> bytes:
    return (GOLDEN / f"{name}.bin").read_bytes()


def one(data: bytes) -> Request:
    requests = decoder().feed(data)
    assert len(requests) == 1
    return requests[0]


def lines(start: int, n: int) -> list[tuple[int, dict[str, Any]]]:
    return [
        ((T + i) * S + 123_456_789, {"message": f"line {i}", "n": i})
        for i in range(start, start + n)
    ]


def summary(r: Request) -> tuple[Any, ...]:
    return (r.tag, r.mode, r.entries, r.chunk, r.signal, [x.reason for x in r.rejected])


EXPECTED: dict[str, tuple[Any, ...]] = {
    "message_int": (
        "svc.app",
        MESSAGE,
        [(T * S, {"message": "hello", "level": "info"})],
        None,
        None,
        [],
    ),
    "message_fixext8_chunk": (
        "svc.app",
        MESSAGE,
        [(T * S + 5, {"message": "ns"})],
        FLUENTD_CHUNK,
        None,
        [],
    ),
    "message_ext8": (
        "svc.app",
        MESSAGE,
        [(T * S + 999_999_999, {"message": "ext8"})],
        None,
        None,
        [],
    ),
    "message_float": (
        "svc.app",
        MESSAGE,
        [(T * S + 250_000_000, {"message": "float"})],
        None,
        None,
        [],
    ),
    "message_time_metadata": (
        "svc.app",
        MESSAGE,
        [(T * S + 7, {"message": "v1.5"})],
        None,
        None,
        [],
    ),
    "forward_mixed_times": (
        "svc.forward",
        FORWARD,
        [
            (T * S, {"i": 0}),
            (T * S + S // 2, {"i": 1}),
            (T * S + 2, {"i": 2}),
            (T * S + 3, {"i": 3}),
        ],
        "fwd-1",
        None,
        [],
    ),
    "packed_bin": ("svc.packed", PACKED, lines(0, 3), None, None, []),
    "packed_str32_fluentd": ("svc.packed", PACKED, lines(0, 3), FLUENTD_CHUNK, None, []),
    "compressed_gzip_members": ("svc.gzip", COMPRESSED, lines(0, 5), FLUENTD_CHUNK, None, []),
    "compressed_zstd": ("svc.zstd", COMPRESSED, lines(0, 4), "z-1", None, []),
    "compressed_text": ("svc.text", PACKED, lines(0, 2), None, None, []),
    "signal_metrics": ("svc.metrics", PACKED, [], "sig-1", 1, []),
    "invalid_events": (
        "svc.bad",
        PACKED,
        [(T * S, {"ok": 1}), (T * S, {"ok": 2})],
        "bad-1",
        None,
        ["bad_record", "bad_time", "bad_entry", "bad_packed_entries"],
    ),
    "chunk_bin": ("svc.app", MESSAGE, [(T * S, {"message": "bin chunk"})], b"\x00\xffid", None, []),
    "invalid_utf8": ("svc.app", MESSAGE, [(T * S, {"message": "ok\udcff\udcfe"})], None, None, []),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_frame(name: str) -> None:
    assert summary(one(golden(name))) == EXPECTED[name]


def test_every_golden_file_has_an_expectation() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.bin")) == sorted([*EXPECTED, "heartbeat"])


def test_heartbeat_is_ignored() -> None:
    assert decoder().feed(golden("heartbeat")) == []


def test_invalid_events_keep_their_originals() -> None:
    rejected = one(golden("invalid_events")).rejected
    assert msgpack.unpackb(rejected[0].original) == [T, "not a map"]
    assert msgpack.unpackb(rejected[1].original) == ["yesterday", {"bad": "time"}]
    assert msgpack.unpackb(rejected[2].original) == [T]
    assert rejected[3].original == b"\xc1garbage"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_split_at_every_offset_gives_the_same_requests(name: str) -> None:
    data = golden("heartbeat") + golden(name) + golden("message_int")
    expected = [summary(r) for r in decoder().feed(data)]
    for cut in range(1, len(data)):
        d = decoder()
        got = d.feed(data[:cut]) + d.feed(data[cut:])
        assert [summary(r) for r in got] == expected, cut
        assert d.buffered == 0


def test_byte_by_byte() -> None:
    data = golden("packed_str32_fluentd")
    d = decoder()
    got = [r for i in range(len(data)) for r in d.feed(data[i : i + 1])]
    assert [summary(r) for r in got] == [EXPECTED["packed_str32_fluentd"]]


def test_thousand_frames_in_one_write() -> None:
    names = sorted(EXPECTED)
    frames = [golden(names[i % len(names)]) for i in range(1000)]
    requests = decoder().feed(b"".join(frames))
    assert [summary(r) for r in requests] == [EXPECTED[names[i % len(names)]] for i in range(1000)]
    assert [r.size for r in requests] == [len(f) for f in frames]


def test_a_write_larger_than_the_frame_cap_is_fine_when_each_frame_fits() -> None:
    frame = encode.message("t", T, {"message": "x" * 900})
    d = decoder(frame_cap=4096)
    requests = d.feed(frame * 100)  # ~93 KB in one write, cap 4 KB
    assert len(requests) == 100


def test_frame_over_the_cap_is_refused_without_buffering_it() -> None:
    frame = encode.message("t", T, {"message": "x" * 10_000})
    d = decoder(frame_cap=4096)
    with pytest.raises(LimitExceeded):
        d.feed(frame)


def test_frame_over_the_cap_arriving_in_small_pieces() -> None:
    frame = encode.message("t", T, {"message": "x" * 10_000})
    d = decoder(frame_cap=4096)
    pieces = [frame[i : i + 1000] for i in range(0, len(frame), 1000)]
    for piece in pieces[:4]:
        assert d.feed(piece) == []
    with pytest.raises(LimitExceeded):
        d.feed(pieces[4])
    assert d.buffered <= 4096


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * (200 * MB), compresslevel=9)  # ~200 KB on the wire
    frame = msgpack.packb(["t", bomb, {"compressed": "gzip"}], use_bin_type=True)
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded):
            decoder(inflate_cap=1 * MB).feed(frame)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MB


def test_zstd_bomb_is_refused() -> None:
    import zstandard

    bomb = zstandard.ZstdCompressor().compress(b"\0" * (50 * MB))
    frame = msgpack.packb(["t", bomb, {"compressed": "zstd"}], use_bin_type=True)
    with pytest.raises(LimitExceeded):
        decoder(inflate_cap=1 * MB).feed(frame)


def test_corrupt_gzip_is_dead_lettered_and_acked() -> None:
    frame = msgpack.packb(["t", b"\x1f\x8bnot gzip", {"compressed": "gzip", "chunk": "c"}])
    request = one(frame)
    assert (request.entries, request.chunk, [r.reason for r in request.rejected]) == (
        [],
        "c",
        ["bad_compression"],
    )


def test_unknown_compression_is_dead_lettered() -> None:
    request = one(msgpack.packb(["t", b"xx", {"compressed": "lz4"}]))
    assert [r.reason for r in request.rejected] == ["unsupported_compression"]


def test_bad_tag_dead_letters_every_event_but_keeps_the_chunk() -> None:
    request = one(msgpack.packb([42, T, {"a": 1}, {"chunk": "c"}]))
    assert (request.entries, request.chunk, [r.reason for r in request.rejected]) == (
        [],
        "c",
        ["bad_tag"],
    )


def test_traces_signal_is_not_decoded() -> None:
    request = one(encode.forward("t", [(T, {"a": 1})], {"fluent_signal": 2, "chunk": "s"}))
    assert (request.signal, request.entries, request.chunk) == (2, [], "s")


@pytest.mark.parametrize(
    "data",
    [
        b"\xc1",  # never-used byte
        msgpack.packb({"not": "an array"}),
        msgpack.packb(["only-tag"]),
        msgpack.packb(["t", T]),  # message without record
        msgpack.packb(["t", T, {}, {}, {}]),  # too many elements
        msgpack.packb(["t", T, {}, "option not a map"]),
        msgpack.packb(["t", [], {"chunk": 5}]),
        msgpack.packb(42),
    ],
)
def test_undecodable_input_raises_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decoder().feed(data)


def test_huge_array_header_is_refused_at_once() -> None:
    with pytest.raises(DecodeError):
        decoder(frame_cap=4096).feed(b"\xdd\xff\xff\xff\xff" + b"\x00" * 10)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (T, T * S),
        (1.5, 1_500_000_000),
        (msgpack.Timestamp(T, 9), T * S + 9),
        (-1, None),
        (True, None),
        ("1700000000", None),
        (2**40, None),
        (None, None),
    ],
)
def test_time_ns(value: Any, expected: int | None) -> None:
    assert time_ns(value) == expected


@pytest.mark.parametrize(
    ("chunk", "expected"),
    [
        (None, None),
        ("abc==\n", "abc==\n"),
        (b"\x00\xff", "hex:00ff"),
        ("a\udcff", "hex:61ff"),
    ],
)
def test_chunk_id_is_stable(chunk: str | bytes | None, expected: str | None) -> None:
    assert chunk_id(chunk) == expected


def test_encoder_helpers_round_trip() -> None:
    frames = encode.packed_forward_frames(3, 10, compress="gzip")
    requests = decoder().feed(b"".join(frames))
    assert [len(r.entries) for r in requests] == [10, 10, 10]
    assert [r.chunk for r in requests] == [
        "bench-00000000\n",
        "bench-00000001\n",
        "bench-00000002\n",
    ]
    assert requests[2].entries[9] == (1_700_000_000 * S + 29_000, encode.sample_record(29))
