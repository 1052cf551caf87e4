"""Bad input at the collector (RELIABILITY.md scenarios 8-11): the collector and Kafka only.

Each test runs its own ``bitacora collector`` subprocess with small limits, feeds it
hostile input while a well-behaved client sends numbered records with acks, and then
checks the collector is alive, memory stayed under the cap, the error counters moved, and
the well-behaved records reached Kafka exactly once.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.forward_client import build_chunks, send_with_acks
from bitacora import rawrecord
from bitacora.collector.forward.encode import event_time, message
from bitacora.collector.forward.handshake import make_ping
from tests.reliability.clients import fuzz_corpus, gzip_bomb_frame, gzip_bomb_ndjson, send_raw
from tests.reliability.harness import (
    Pipeline,
    loss_and_duplicates,
    metric,
    raw_seqs,
    read_raw_events,
    read_topic,
    wait_until,
)

pytestmark = [pytest.mark.stack, pytest.mark.timeout(240)]
RSS_CAP_MIB = 400  # the collector idles near 80 MiB; caps below keep bad input far under this


async def _raws(pipeline: Pipeline) -> list[rawrecord.RawRecord]:
    return await read_raw_events(
        pipeline.settings.kafka_bootstrap, pipeline.env["BITACORA_TOPIC_RAW"]
    )


async def _good_client(p: Pipeline, source: str, events: int = 2000) -> None:
    """A well-behaved sender: every chunk acked, then exactly once in Kafka."""
    chunks = build_chunks(source, events, 100, [f"{p.prefix}-good"])
    stats = await send_with_acks("127.0.0.1", p.forward_port, chunks, window=4, deadline_s=60)
    assert len(stats.acked) == len(chunks), stats.errors[:3]
    seen = raw_seqs(
        await read_raw_events(p.settings.kafka_bootstrap, p.env["BITACORA_TOPIC_RAW"]), source
    )
    lost, duplicated = loss_and_duplicates(range(events), seen)
    assert lost == []
    assert duplicated == {} or stats.resends > 0  # a resend may legitimately duplicate in Kafka
    assert sum(seen.values()) >= events


async def _rejections(p: Pipeline, source: str = "forward") -> float:
    return await metric(p.http_port, "bitacora_collector_rejections_total", source=source)


async def test_08_malformed_msgpack_and_json_fuzzing(pipeline: Pipeline) -> None:
    """No crash, bounded memory, only the bad connection closed, error counter up."""
    pipeline.extra_env.update(BITACORA_MAX_FRAME_BYTES=str(256 * 1024), BITACORA_IDLE_TIMEOUT_S="3")
    collector = pipeline.start_collector()
    corpus, certain = fuzz_corpus(f"{pipeline.prefix}-fuzz.app")
    before = await _rejections(pipeline)
    good = asyncio.create_task(_good_client(pipeline, f"good8-{pipeline.rid}"))
    outcomes = []
    for payload in corpus:
        outcomes.append(await send_raw(pipeline.forward_port, payload, wait_s=3))
        assert collector.alive(), collector.log_tail()
    await good
    # The certainly-undecodable payloads were all answered by closing the connection.
    assert all(o.closed_by_server for o in outcomes[:certain])
    assert not any(o.replies for o in outcomes[:certain])
    after = await _rejections(pipeline)
    assert after >= before + certain, (before, after, [o.closed_by_server for o in outcomes[:10]])
    assert collector.peak_rss_mib() < RSS_CAP_MIB

    # JSON fuzzing over HTTP: bad bodies get 400, bad lines of a good batch are dead-lettered.
    url = f"http://127.0.0.1:{pipeline.http_port}/{pipeline.prefix}-http.app"
    source = f"http8-{pipeline.rid}"
    lines = [
        json.dumps({"source": source, "seq": i, "message": f"ok {i}"}).encode() for i in range(7)
    ]
    body = b"\n".join(
        [lines[0], b"{not json", lines[1], b'{"truncated": ', *lines[2:], b"[1, 2]", b"42"]
    )
    async with aiohttp.ClientSession() as session:
        for bad in (b"{", b"\xff\xfe\x00", b"[}", b"\x00" * 100):
            async with session.post(
                url, data=bad, headers={"Content-Type": "application/json"}
            ) as r:
                assert r.status == 400, await r.text()
        async with session.post(
            url, data=body, headers={"Content-Type": "application/x-ndjson"}
        ) as r:
            assert r.status == 200, await r.text()
    assert raw_seqs(
        await _raws(pipeline),
        source,
    ) == dict.fromkeys(range(7), 1)
    letters = await read_topic(
        pipeline.settings.kafka_bootstrap, pipeline.env["BITACORA_TOPIC_DEADLETTER"]
    )
    print(
        f"scenario 8: {len(corpus)} malformed frames, {after - before:.0f} rejections counted, "
        f"peak RSS {collector.peak_rss_mib():.0f} MiB, good sender exact; HTTP: 4 bad bodies 400, "
        "7 good lines exact"
    )
    http_letters = [
        v
        for _, v in letters
        if b"truncated" in v or b"not json" in v or b"[1, 2]" in v or b"42" in v
    ]
    assert len(http_letters) >= 4
    assert collector.alive()


async def test_09_oversized_frame_http_body_and_gzip_bombs(pipeline: Pipeline) -> None:
    """Closed / 413, memory under the cap, new connections still accepted."""
    pipeline.extra_env.update(
        BITACORA_MAX_FRAME_BYTES=str(256 * 1024),
        BITACORA_MAX_DECOMPRESSED_BYTES=str(1024 * 1024),
        BITACORA_MAX_HTTP_BODY_BYTES=str(256 * 1024),
    )
    collector = pipeline.start_collector()
    tag = f"{pipeline.prefix}-big.app"
    before = await metric(
        pipeline.http_port, "bitacora_collector_rejections_total", reason="over_limit"
    )

    big = message(tag, event_time(1_700_000_000), {"message": "x" * (512 * 1024)}, {"chunk": "big"})
    outcome = await send_raw(pipeline.forward_port, big, half_close=False, wait_s=10)
    assert outcome.closed_by_server
    assert outcome.replies == []  # never acked

    bomb = gzip_bomb_frame(tag, 64 * 1024 * 1024)
    assert len(bomb) < 256 * 1024  # the frame itself is under the cap: only inflating breaks it
    outcome = await send_raw(pipeline.forward_port, bomb, half_close=False, wait_s=10)
    assert outcome.closed_by_server
    assert outcome.replies == []

    url = f"http://127.0.0.1:{pipeline.http_port}/{pipeline.prefix}-big.app"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=b'{"m":"' + b"y" * (512 * 1024) + b'"}') as r:
            assert r.status == 413
        ndjson_bomb = gzip_bomb_ndjson(64 * 1024 * 1024)
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/x-ndjson"}
        async with session.post(url, data=ndjson_bomb, headers=headers) as r:
            assert r.status == 413

    after = await metric(
        pipeline.http_port, "bitacora_collector_rejections_total", reason="over_limit"
    )
    assert after >= before + 2
    assert collector.alive()
    assert collector.peak_rss_mib() < RSS_CAP_MIB
    await _good_client(pipeline, f"good9-{pipeline.rid}")
    print(
        f"scenario 9: 512 KiB frame closed, 64 MiB gzip bombs closed/413, 512 KiB body 413, "
        f"peak RSS {collector.peak_rss_mib():.0f} MiB, new connections served"
    )
    raw = await read_topic(pipeline.settings.kafka_bootstrap, pipeline.env["BITACORA_TOPIC_RAW"])
    assert not any(b"yyyyyyyy" in v or b"AAAAAAAA" in v or b"xxxxxxxxxxxx" in v for _, v in raw)


async def test_10_connection_flood_and_slow_clients(pipeline: Pipeline) -> None:
    """The connection cap and idle timeout hold; HTTP and later forward clients unaffected."""
    cap, idle = 24, 2.0
    pipeline.extra_env.update(BITACORA_MAX_CONNECTIONS=str(cap), BITACORA_IDLE_TIMEOUT_S=str(idle))
    collector = pipeline.start_collector()
    flood = []
    for _ in range(cap + 40):
        sock = socket.create_connection(("127.0.0.1", pipeline.forward_port))
        sock.setblocking(False)
        flood.append(sock)
    # A slow client: half a frame, then silence.
    frame = message(
        f"{pipeline.prefix}-slow.app", event_time(1_700_000_000), {"m": "slow"}, {"chunk": "slow"}
    )
    slow = socket.create_connection(("127.0.0.1", pipeline.forward_port))
    slow.sendall(frame[: len(frame) // 2])

    async def open_now() -> float:
        value = await metric(pipeline.http_port, "bitacora_collector_open_connections")
        return value if value > 0 else 0.0

    assert await wait_until(open_now, 5, "open connections reported") <= cap

    # HTTP is unaffected while forward connections are saturated.
    source = f"http10-{pipeline.rid}"
    body = b"\n".join(json.dumps({"source": source, "seq": i}).encode() for i in range(50))
    url = f"http://127.0.0.1:{pipeline.http_port}/{pipeline.prefix}-http.app"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={"Content-Type": "application/x-ndjson"}) as r,
    ):
        assert r.status == 200

    # Idle connections (the flood and the slow client) are closed by the server.
    def all_closed() -> bool:
        for sock in [*flood, slow]:
            try:
                if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b"":
                    return False
            except BlockingIOError:
                return False
            except OSError:
                pass  # reset by the server: closed
        return True

    async def closed() -> bool:
        return all_closed()

    await wait_until(closed, idle + 10, "the server to close idle connections")
    for sock in [*flood, slow]:
        sock.close()
    assert (
        await metric(
            pipeline.http_port, "bitacora_collector_rejections_total", reason="connection_limit"
        )
        >= 40
    )
    assert (
        await metric(
            pipeline.http_port, "bitacora_collector_rejections_total", reason="idle_timeout"
        )
        >= 1
    )
    await _good_client(pipeline, f"good10-{pipeline.rid}")
    print(
        f"scenario 10: {cap + 40} connections vs cap {cap}: 40+ refused, idle closed after "
        f"{idle} s, HTTP and later forward clients exact"
    )
    assert raw_seqs(
        await _raws(pipeline),
        source,
    ) == dict.fromkeys(range(50), 1)
    assert collector.alive()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def _handshake_send(port: int, shared_key: bytes, frame: bytes) -> tuple[list[object], bool]:
    """HELO → PING with ``shared_key`` → PONG, then ``frame``; returns (replies, closed)."""
    import msgpack

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    unpacker = msgpack.Unpacker(raw=False)
    replies: list[object] = []
    closed = False
    try:
        while not replies:
            data = await asyncio.wait_for(reader.read(65536), 5)
            if not data:
                return replies, True
            unpacker.feed(data)
            replies.extend(unpacker)
        helo = replies.pop(0)
        writer.write(
            msgpack.packb(make_ping(helo, "rel-client", shared_key), use_bin_type=True) + frame
        )
        await writer.drain()
        end = asyncio.get_running_loop().time() + 5
        while (left := end - asyncio.get_running_loop().time()) > 0:
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
                break
    except (ConnectionError, OSError):
        closed = True
    finally:
        writer.close()
    return replies, closed


async def test_11_wrong_shared_key_bad_token_plaintext_to_tls(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """Every wrong credential is rejected and nothing reaches Kafka; the right ones work."""
    cert, key = _self_signed(tmp_path)
    pipeline.extra_env.update(
        BITACORA_FORWARD_SHARED_KEY="right-shared-key",
        BITACORA_HTTP_TOKEN="right-token",
        BITACORA_TLS_CERT_FILE=str(cert),
        BITACORA_TLS_KEY_FILE=str(key),
    )
    pipeline.start_collector()
    tag = f"{pipeline.prefix}-auth.app"
    bad = message(
        tag, event_time(1_700_000_000), {"source": "intruder", "seq": 0}, {"chunk": "intruder"}
    )

    # Plaintext to the TLS port: the TLS handshake fails, nothing is decoded.
    outcome = await send_raw(pipeline.forward_port, bad, half_close=False, wait_s=5)
    assert outcome.replies == []

    # TLS with the wrong shared key: PONG false, connection closed, no ack.
    import ssl

    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False

    async def tls_handshake(shared_key: bytes, frame: bytes) -> tuple[list[object], bool]:
        import msgpack

        reader, writer = await asyncio.open_connection(
            "127.0.0.1", pipeline.forward_port, ssl=context
        )
        unpacker = msgpack.Unpacker(raw=False)
        replies: list[object] = []
        closed = False
        try:
            while len(replies) < 1:
                data = await asyncio.wait_for(reader.read(65536), 5)
                assert data, "closed before HELO"
                unpacker.feed(data)
                replies.extend(unpacker)
            writer.write(
                msgpack.packb(make_ping(replies[0], "rel-client", shared_key), use_bin_type=True)
                + frame
            )
            await writer.drain()
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(65536), 5)
                except TimeoutError:
                    break
                if not data:
                    closed = True
                    break
                unpacker.feed(data)
                replies.extend(unpacker)
                if any(isinstance(r, dict) and "ack" in r for r in replies):
                    break
        except (ConnectionError, OSError, ssl.SSLError):
            closed = True
        finally:
            writer.close()
        return replies, closed

    replies, closed = await tls_handshake(b"wrong-shared-key", bad)
    assert closed
    pong = replies[1]
    assert isinstance(pong, list)
    assert pong[0] == "PONG"
    assert pong[1] is False
    assert not any(isinstance(r, dict) and "ack" in r for r in replies)

    # HTTP without and with a wrong token: 401.
    url = f"http://127.0.0.1:{pipeline.http_port}/{tag}"
    body = json.dumps({"source": "intruder", "seq": 1}).encode()
    async with aiohttp.ClientSession() as session:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": "Basic cmlnaHQtdG9rZW4="},
        ):
            async with session.post(url, data=body, headers=headers) as r:
                assert r.status == 401
        assert (
            await metric(
                pipeline.http_port, "bitacora_collector_rejections_total", reason="auth_failed"
            )
            >= 1
        )
        raw = await read_topic(
            pipeline.settings.kafka_bootstrap, pipeline.env["BITACORA_TOPIC_RAW"]
        )
        assert raw == []  # zero records reached Kafka

        # The right credentials work (so the zero above is not vacuous).
        good = message(
            tag, event_time(1_700_000_000), {"source": "friend", "seq": 0}, {"chunk": "friend"}
        )
        replies, _closed = await tls_handshake(b"right-shared-key", good)
        assert {"ack": "friend"} in replies
        async with session.post(
            url,
            data=json.dumps({"source": "friend", "seq": 1}).encode(),
            headers={"Authorization": "Bearer right-token"},
        ) as r:
            assert r.status == 200
    assert raw_seqs(
        await _raws(pipeline),
        "friend",
    ) == {0: 1, 1: 1}
    assert (
        raw_seqs(
            await _raws(pipeline),
            "intruder",
        )
        == {}
    )
    print("scenario 11: plaintext to TLS, wrong key (PONG false), 3 bad tokens (401): 0 records")


async def test_12_invalid_utf8_and_nul_bytes_reach_kafka_intact(pipeline: Pipeline) -> None:
    """The collector keeps the exact bytes (the processor repairs them, see the pipeline
    suite); the rest of the chunk is unaffected."""
    pipeline.start_collector()
    tag = f"{pipeline.prefix}-utf8.app"
    source = f"utf8-{pipeline.rid}"
    records: list[dict[Any, Any]] = [
        {"source": source, "seq": 0, "message": b"bad \xff\xfe bytes"},
        {"source": source, "seq": 1, "message": "nul \x00 inside"},
        {"source": source, "seq": 2, b"key\xff": "bad key"},
        {"source": source, "seq": 3, "message": "fine"},
    ]
    from bitacora.collector.forward.encode import forward

    frame = forward(
        tag, [(event_time(1_700_000_000, i), r) for i, r in enumerate(records)], {"chunk": "utf8"}
    )
    outcome = await send_raw(pipeline.forward_port, frame, half_close=False, wait_s=5)
    assert {"ack": "utf8"} in outcome.replies
    raw = await read_topic(pipeline.settings.kafka_bootstrap, pipeline.env["BITACORA_TOPIC_RAW"])
    assert raw_seqs(
        await _raws(pipeline),
        source,
    ) == {0: 1, 1: 1, 2: 1, 3: 1}
    joined = b"".join(v for _, v in raw)
    assert b"bad \xff\xfe bytes" in joined
    assert b"nul \x00 inside" in joined
