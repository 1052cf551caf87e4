"""Regenerate the golden forward frames in this folder (run once; the .bin files are committed).

    .venv/bin/python tests/data/forward/make_golden.py

Built by hand with msgpack the way real senders put them on the wire (not with the
collector's own encoder), so the decoder is tested against the protocol, not itself.
Every frame is deterministic (gzip mtime 0, fixed zstd level).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import msgpack
import zstandard

HERE = Path(__file__).parent
T = 1_700_000_000  # 2023-11-14T22:13:20Z
FLUENTD_CHUNK = "XGMaR1lhZ2hKd2V4N3k5Ug==\n"  # Fluentd's chunk ids are base64 + "\n"


def pack(obj: object) -> bytes:
    packed: bytes = msgpack.packb(obj, use_bin_type=True)
    return packed


def fixext8(seconds: int, nanos: int) -> msgpack.ExtType:
    return msgpack.ExtType(0, struct.pack(">II", seconds, nanos))


def ext8(seconds: int, nanos: int) -> bytes:
    return b"\xc7\x08\x00" + struct.pack(">II", seconds, nanos)


def str32(data: bytes) -> bytes:
    return b"\xdb" + struct.pack(">I", len(data)) + data


def bin32(data: bytes) -> bytes:
    return b"\xc6" + struct.pack(">I", len(data)) + data


def entries(n: int, start: int = 0) -> bytes:
    return b"".join(
        pack([fixext8(T + i, 123_456_789), {"message": f"line {i}", "n": i}])
        for i in range(start, start + n)
    )


FRAMES: dict[str, bytes] = {
    "message_int": pack(["svc.app", T, {"message": "hello", "level": "info"}]),
    "message_fixext8_chunk": pack(
        ["svc.app", fixext8(T, 5), {"message": "ns"}, {"chunk": FLUENTD_CHUNK}]
    ),
    "message_ext8": b"\x93" + pack("svc.app") + ext8(T, 999_999_999) + pack({"message": "ext8"}),
    "message_float": pack(["svc.app", 1_700_000_000.25, {"message": "float"}]),
    "message_time_metadata": pack(["svc.app", [fixext8(T, 7), {"otlp": {}}], {"message": "v1.5"}]),
    "forward_mixed_times": pack(
        [
            "svc.forward",
            [
                [T, {"i": 0}],
                [1_700_000_000.5, {"i": 1}],
                [fixext8(T, 2), {"i": 2}],
                [[fixext8(T, 3), {"meta": 1}], {"i": 3}],
            ],
            {"chunk": "fwd-1", "size": 4},
        ]
    ),
    "packed_bin": b"\x93" + pack("svc.packed") + bin32(entries(3)) + pack({"size": 3}),
    "packed_str32_fluentd": b"\x93"
    + pack("svc.packed")
    + str32(entries(3))
    + pack({"chunk": FLUENTD_CHUNK, "size": 3}),
    "compressed_gzip_members": b"\x93"
    + pack("svc.gzip")
    + str32(
        gzip.compress(entries(3), mtime=0)
        + gzip.compress(entries(2, start=3), mtime=0)
        + gzip.compress(b"", mtime=0)
    )
    + pack({"chunk": FLUENTD_CHUNK, "size": 5, "compressed": "gzip"}),
    "compressed_zstd": b"\x93"
    + pack("svc.zstd")
    + bin32(zstandard.ZstdCompressor(level=3).compress(entries(4)))
    + pack({"chunk": "z-1", "compressed": "zstd"}),
    "compressed_text": b"\x93"
    + pack("svc.text")
    + bin32(entries(2))
    + pack({"compressed": "text"}),
    "signal_metrics": b"\x93"
    + pack("svc.metrics")
    + bin32(b"\x01\x02 not log entries at all")
    + pack({"chunk": "sig-1", "fluent_signal": 1}),
    "heartbeat": b"\xc0",
    "invalid_events": b"\x93"
    + pack("svc.bad")
    + bin32(
        pack([T, {"ok": 1}])
        + pack([T, "not a map"])
        + pack(["yesterday", {"bad": "time"}])
        + pack([T])
        + pack([T, {"ok": 2}])
        + b"\xc1garbage"
    )
    + pack({"chunk": "bad-1"}),
    "chunk_bin": pack(["svc.app", T, {"message": "bin chunk"}, {"chunk": b"\x00\xffid"}]),
    "invalid_utf8": b"\x93"
    + pack("svc.app")
    + pack(T)
    + b"\x81"
    + pack("message")
    + b"\xa4ok\xff\xfe",
}


def main() -> None:
    for name, frame in FRAMES.items():
        (HERE / f"{name}.bin").write_bytes(frame)
    print(f"wrote {len(FRAMES)} frames to {HERE}")


if __name__ == "__main__":
    main()
