"""Raw clients for bad-input scenarios: send bytes, see whether the server closes or acks."""

from __future__ import annotations

import asyncio
import gzip
import random
import struct
import time
from dataclasses import dataclass

import msgpack

from bitacora.collector.forward.encode import event_time, message, pack_entry, packed


@dataclass(frozen=True)
class Outcome:
    """What the server did with one raw payload on a fresh connection."""

    replies: list[object]
    closed_by_server: bool  # EOF/RST before we closed our side
    seconds: float


async def send_raw(
    port: int, payload: bytes, *, wait_s: float = 3.0, half_close: bool = True
) -> Outcome:
    """Send ``payload`` on a new connection; collect replies until an ack, EOF or ``wait_s``.

    With ``half_close`` we shut our writing side after the payload (as a client that is
    done), so a server waiting for the rest of a truncated frame sees EOF.
    """
    start = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies: list[object] = []
    # The server echoes chunk ids byte for byte, so a mutated id may not be UTF-8.
    unpacker = msgpack.Unpacker(raw=False, unicode_errors="surrogateescape")
    closed = False
    try:
        writer.write(payload)
        await writer.drain()
        if half_close and writer.can_write_eof():
            writer.write_eof()
        end = start + wait_s
        while (left := end - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                break
            if not data:
                closed = True
                break
            unpacker.feed(data)
            replies.extend(unpacker)
            if any(isinstance(r, dict) and "ack" in r for r in replies):
                break  # the request was answered: no need to wait out ``wait_s``
    except (ConnectionError, OSError):
        closed = True
    finally:
        writer.close()
    return Outcome(replies, closed, time.monotonic() - start)


def valid_frame(tag: str, i: int) -> bytes:
    """A small valid Message frame with a chunk id."""
    return message(
        tag, event_time(1_700_000_000, i), {"message": f"fuzz {i}", "seq": i}, {"chunk": f"c{i}"}
    )


def fuzz_corpus(tag: str, seed: int = 8, mutations: int = 120) -> tuple[list[bytes], int]:
    """Malformed payloads: (corpus, how many of them are certainly undecodable).

    Truncations and byte flips of valid frames, wrong arity and types, huge array/map/bin
    headers claiming gigabytes, deep nesting, the never-used byte 0xc1.
    """
    rng = random.Random(seed)
    certain = [
        b"\xc1" * 16,  # never used in msgpack
        b"\xdd\xff\xff\xff\xff" + b"\x00" * 32,  # array32 of 4G items
        b"\xdf\xff\xff\xff\xff" + b"\x00" * 32,  # map32 of 4G pairs
        b"\xc6\xff\xff\xff\xf0" + b"x" * 64,  # bin32 of 4 GB
        b"\xdb\xff\xff\xff\xf0" + b"x" * 64,  # str32 of 4 GB
        b"\x93"
        + msgpack.packb(tag)
        + b"\xdd\x7f\xff\xff\xff"
        + b"\x90" * 64,  # Forward claiming 2G entries
    ]
    odd_shapes = [
        msgpack.packb([]),
        msgpack.packb([tag]),
        msgpack.packb([tag, 1]),
        msgpack.packb([tag, 1, {"a": 1}, {}, "extra", "extra"]),
        msgpack.packb([123, 1, {"a": 1}]),
        msgpack.packb([tag, "not-a-time", "not-a-record", {"chunk": "odd1"}]),
        msgpack.packb([tag, 1, [1, 2, 3], {"chunk": "odd2"}]),
        msgpack.packb([tag, b"\xc1\xc1garbage", {"chunk": "odd3"}], use_bin_type=True),
        msgpack.packb([tag, [[1, 2, 3], "x", None], {"chunk": "odd4"}]),
        msgpack.packb({"not": "an array"}),
        msgpack.packb("just a string"),
        b"\x91" * 50_000,  # 50,000 levels of nesting
        msgpack.packb(msgpack.ExtType(99, b"12345678")),
        packed(
            tag, [(event_time(1, 0), {"a": 1})], {"chunk": "odd5", "compressed": "gzip"}
        ),  # says gzip, is not
    ]
    base = [valid_frame(tag, i) for i in range(8)] + [
        packed(
            tag,
            [(event_time(1, i), {"m": "x" * 50, "seq": i}) for i in range(20)],
            {"chunk": f"p{k}"},
            compress=c,
        )
        for k, c in enumerate((None, "gzip"))
    ]
    mutated = []
    for _ in range(mutations):
        frame = bytearray(rng.choice(base))
        if rng.random() < 0.5:
            frame = frame[: rng.randrange(1, len(frame))]
        for _ in range(rng.randint(1, 4)):
            frame[rng.randrange(len(frame))] = rng.randrange(256)
        mutated.append(bytes(frame))
    return certain + odd_shapes + mutated, len(certain)


def gzip_bomb_frame(tag: str, inflated_bytes: int) -> bytes:
    """A CompressedPackedForward frame that inflates to about ``inflated_bytes``."""
    entry = pack_entry(event_time(1_700_000_000), {"message": "A" * 1000})
    body = entry * (inflated_bytes // len(entry) + 1)
    payload = gzip.compress(body, compresslevel=9, mtime=0)
    option: bytes = msgpack.packb({"chunk": "bomb", "compressed": "gzip"})
    tag_bytes: bytes = msgpack.packb(tag)
    header = b"\xc6" + struct.pack(">I", len(payload))
    return b"\x93" + tag_bytes + header + payload + option


def gzip_bomb_ndjson(inflated_bytes: int) -> bytes:
    """A gzip body of NDJSON that inflates to about ``inflated_bytes``."""
    line = b'{"message":"' + b"A" * 1000 + b'"}\n'
    return gzip.compress(line * (inflated_bytes // len(line) + 1), compresslevel=9, mtime=0)
