"""Forward protocol end to end on the real Kafka: real clients, acks, auth, bad input."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
from fluent import sender as fluent_sender

from bench.procs import free_port
from bitacora.bundles import EVENTS_HEADER
from bitacora.collector.app import Collector
from bitacora.collector.forward import encode
from bitacora.collector.forward.handshake import check_pong, make_ping
from bitacora.collector.logging_setup import setup_fluent_logging
from bitacora.settings import Settings
from tests.integration.collector.helpers import (
    node_sender_ready,
    raw_events,
    read_raw,
    read_topic,
    wait_until,
)

T = 1_700_000_000
S = 1_000_000_000
RECORDS: list[dict[str, Any]] = [
    {"message": "plain", "level": "info", "service": "review-service"},
    {"message": "ünïcödé ✓", "n": 42, "f": 1.5, "ok": True, "none": None},
    {"message": "nested", "http": {"status": 503, "path": "/api"}, "tags": ["a", "b"]},
]


async def _read_until(reader: asyncio.StreamReader, count: int, wait_s: float = 20) -> list[Any]:
    unpacker = msgpack.Unpacker(raw=False)
    out: list[Any] = []
    async with asyncio.timeout(wait_s):
        while len(out) < count:
            data = await reader.read(65536)
            if not data:
                raise AssertionError(f"connection closed after {len(out)} of {count} replies")
            unpacker.feed(data)
            out.extend(unpacker)
    return out


async def _closed_without_reply(reader: asyncio.StreamReader, wait_s: float = 20) -> bytes:
    async with asyncio.timeout(wait_s):
        return await reader.read()  # until EOF


@pytest.mark.parametrize("nanoseconds", [False, True])
async def test_python_fluent_sender(
    collector: Collector, kafka_bootstrap: str, topics: tuple[str, str], nanoseconds: bool
) -> None:
    times: list[Any] = (
        [fluent_sender.EventTime(T + i, 123_456_789 + i) for i in range(3)]
        if nanoseconds
        else [T + i for i in range(3)]
    )

    def send() -> None:
        client = fluent_sender.FluentSender(
            "py-app",
            host="127.0.0.1",
            port=collector.forward_port,
            nanosecond_precision=nanoseconds,
        )
        for when, record in zip(times, RECORDS, strict=True):
            assert client.emit_with_time("web", when, record), client.last_error
        client.close()

    await asyncio.to_thread(send)
    raws = await read_raw(kafka_bootstrap, topics[0], 3)
    nanos = [123_456_789 + i if nanoseconds else 0 for i in range(3)]
    assert [(r.tag, r.time_ns, r.record, r.transport, r.chunk, r.position) for r in raws] == [
        ("py-app.web", (T + i) * S + nanos[i], RECORDS[i], "forward", None, 0) for i in range(3)
    ]
    assert all(r.peer.startswith("127.0.0.1:") for r in raws)


async def test_fluent_handler_through_the_logging_helper(
    collector: Collector, kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    logger = logging.getLogger(f"bitacora.test.{uuid.uuid4().hex}")
    logger.propagate = False

    def log() -> None:
        handler = setup_fluent_logging(
            "review-service", host="127.0.0.1", port=collector.forward_port, logger=logger
        )
        logger.info("review %s stored", 7, extra={"trace_id": "abc123", "span_id": "def4"})
        try:
            raise ValueError("bad rating")
        except ValueError:
            logger.exception("could not store review")
        handler.close()
        logger.removeHandler(handler)

    await asyncio.to_thread(log)
    raws = sorted(await read_raw(kafka_bootstrap, topics[0], 2), key=lambda r: r.record["level"])
    first, second = raws[1].record, raws[0].record  # INFO sorts after ERROR
    assert raws[0].tag == raws[1].tag == "review-service.app"
    assert raws[0].time_ns % 1000 != 0 or raws[1].time_ns % 1000 != 0  # EventTime, not seconds
    assert (first["level"], first["message"], first["logger"], first["service"]) == (
        "INFO",
        "review 7 stored",
        logger.name,
        "review-service",
    )
    assert (first["trace_id"], first["span_id"]) == ("abc123", "def4")
    assert (second["level"], second["error.type"], second["error.message"]) == (
        "ERROR",
        "ValueError",
        "bad rating",
    )
    assert second["error.stack_trace"].startswith("Traceback (most recent call last):")
    assert second["error.stack_trace"].rstrip().endswith("ValueError: bad rating")


@pytest.mark.parametrize(
    ("mode", "with_user"),
    [
        ("PackedForward", False),
        ("CompressedPackedForward", False),
        ("Message", False),
        ("CompressedPackedForward", True),
    ],
)
async def test_node_fluent_logger_with_shared_key_and_acks(
    make_settings: Callable[..., Settings],
    start_collector: Callable[[Settings], Any],
    kafka_bootstrap: str,
    topics: tuple[str, str],
    tmp_path: Path,
    mode: str,
    with_user: bool,
) -> None:
    users = tmp_path / "users"
    users.write_text("node-user:p4ss:word\n")
    collector = await start_collector(
        make_settings(
            forward_shared_key="n0de-shared-key", forward_users_file=users if with_user else None
        )
    )
    folder = await asyncio.to_thread(node_sender_ready)
    events = [
        {"time": T + i if i % 2 else [T + i, 1000 + i], "record": {"i": i, "message": f"node {i}"}}
        for i in range(20)
    ]
    conf = {
        "host": "127.0.0.1",
        "port": collector.forward_port,
        "mode": mode,
        "sharedKey": "n0de-shared-key",
        "clientHostname": "node-client.test",
        "tag": "node-service.app",
        "events": events,
    }
    if with_user:
        conf.update(username="node-user", password="p4ss:word")
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(folder / "send.js"),
        json.dumps(conf),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert json.loads(out) == {"acked": 20, "errors": []}, err.decode()
    assert proc.returncode == 0
    raws = await read_raw(kafka_bootstrap, topics[0], 20)
    expected_ns = [(T + i) * S + (0 if i % 2 else 1000 + i) for i in range(20)]
    assert [(r.tag, r.time_ns, r.record) for r in raws] == [
        ("node-service.app", expected_ns[i], events[i]["record"]) for i in range(20)
    ]
    assert all(r.chunk is not None and r.chunk.endswith("==") for r in raws)
    if mode != "Message":  # one packed request: positions 0..19 under one chunk id
        assert len({r.chunk for r in raws}) == 1
        assert sorted(r.position for r in raws) == list(range(20))


async def test_ack_comes_only_after_kafka_holds_the_records(
    collector: Collector, kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", collector.forward_port)
    chunk = "XGMaR1lhZ2hKd2V4N3k5Ug==\n"
    entries = [(encode.event_time(T, i), {"i": i, "service": f"svc-{i % 4}"}) for i in range(50)]
    writer.write(encode.packed("raw.socket", entries, {"chunk": chunk, "size": 50}, as_str=True))
    writer.write(encode.message("raw.socket", T, {"i": 50}, {"chunk": b"\x00\xff-bin"}))
    await writer.drain()
    unpacker = msgpack.Unpacker(raw=False)
    wire = b""
    replies: list[Any] = []
    async with asyncio.timeout(20):
        while len(replies) < 2:
            data = await reader.read(65536)
            assert data, "closed without ack"
            wire += data
            unpacker.feed(data)
            replies.extend(unpacker)
    # The moment both acks are here, every record must already be readable.
    raws = await read_raw(kafka_bootstrap, topics[0], 51, wait_s=5)
    str_ack = msgpack.packb({"ack": chunk})
    bin_ack = msgpack.packb({"ack": b"\x00\xff-bin"}, use_bin_type=True)
    assert wire in (str_ack + bin_ack, bin_ack + str_ack)  # same types and bytes as sent
    packed = [r for r in raws if r.chunk == chunk]
    assert [(r.time_ns, r.record, r.position) for r in packed] == [
        (T * S + i, {"i": i, "service": f"svc-{i % 4}"}, i) for i in range(50)
    ]
    [single] = [r for r in raws if r.chunk != chunk]
    assert (single.tag, single.time_ns, single.record, single.chunk, single.position) == (
        "raw.socket",
        T * S,
        {"i": 50},
        "hex:00ff2d62696e",
        0,
    )
    # Each request's events are one Kafka record per service (a bundle, in order).
    records = await read_topic(kafka_bootstrap, topics[0], 51, wait_s=5)
    assert sorted((r.key, r.headers) for r in records) == [
        (b"raw", ((EVENTS_HEADER, b"1"),)),
        (b"svc-0", ((EVENTS_HEADER, b"13"),)),
        (b"svc-1", ((EVENTS_HEADER, b"13"),)),
        (b"svc-2", ((EVENTS_HEADER, b"12"),)),
        (b"svc-3", ((EVENTS_HEADER, b"12"),)),
    ]
    writer.close()


async def test_one_bad_client_does_not_affect_others(
    make_settings: Callable[..., Settings],
    start_collector: Callable[[Settings], Any],
    kafka_bootstrap: str,
    topics: tuple[str, str],
) -> None:
    collector = await start_collector(make_settings(max_frame_bytes=64 * 1024))
    port = collector.forward_port
    good_r, good_w = await asyncio.open_connection("127.0.0.1", port)
    garbage_r, garbage_w = await asyncio.open_connection("127.0.0.1", port)
    big_r, big_w = await asyncio.open_connection("127.0.0.1", port)
    garbage_w.write(b"\xc1\xc1 not msgpack")
    big_w.write(encode.message("big", T, {"m": "x" * 100_000}, {"chunk": "big"}))
    assert await _closed_without_reply(garbage_r) == b""
    assert await _closed_without_reply(big_r) == b""
    good_w.write(encode.forward("good", [(T, {"ok": 1})], {"chunk": "good-1"}))
    assert await _read_until(good_r, 1) == [{"ack": "good-1"}]
    raws = await read_raw(kafka_bootstrap, topics[0], 1)
    assert [(r.tag, r.record) for r in raws] == [("good", {"ok": 1})]
    assert collector.metrics.rejections.get("forward", "undecodable") == 1
    assert collector.metrics.rejections.get("forward", "over_limit") == 1
    good_w.close()


async def test_invalid_events_are_dead_lettered_and_the_request_acked(
    collector: Collector, kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", collector.forward_port)
    frame = msgpack.packb(
        [
            "mixed",
            [[T, {"ok": 1}], [T, "not a map"], ["noon", {"x": 1}], [T, {"ok": 2}]],
            {"chunk": "m-1"},
        ]
    )
    writer.write(frame)
    assert await _read_until(reader, 1) == [{"ack": "m-1"}]
    raws = await read_raw(kafka_bootstrap, topics[0], 2)
    assert sorted((r.record["ok"], r.position) for r in raws) == [(1, 0), (2, 1)]
    letters = [json.loads(r.value) for r in await read_topic(kafka_bootstrap, topics[1], 2)]
    assert sorted(d["deadletter"]["reason"] for d in letters) == ["bad_record", "bad_time"]
    assert {
        (d["deadletter"]["stage"], d["event"]["dataset"], d["deadletter"]["source"]["transport"])
        for d in letters
    } == {("collector", "mixed", "forward")}
    assert collector.metrics.rejections.get("forward", "bad_time") == 1
    writer.close()


async def test_an_event_too_large_for_kafka_is_dead_lettered(
    collector: Collector, kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", collector.forward_port)
    huge = {"message": "x" * 2_000_000}  # over Kafka's default 1 MB message size
    writer.write(encode.forward("big", [(T, {"small": 1}), (T, huge)], {"chunk": "h-1"}))
    assert await _read_until(reader, 1) == [{"ack": "h-1"}]
    raws = await read_raw(kafka_bootstrap, topics[0], 1)
    assert [(r.record, r.position) for r in raws] == [({"small": 1}, 0)]
    [doc] = [json.loads(r.value) for r in await read_topic(kafka_bootstrap, topics[1], 1)]
    letter = doc["deadletter"]
    assert (letter["reason"], letter["original_truncated"]) == ("record_too_large", True)
    assert letter["original_bytes"] > 2_000_000
    writer.close()


async def test_wrong_shared_key_is_refused_and_nothing_reaches_kafka(
    make_settings: Callable[..., Settings],
    start_collector: Callable[[Settings], Any],
    kafka_bootstrap: str,
    topics: tuple[str, str],
) -> None:
    collector = await start_collector(make_settings(forward_shared_key="right"))
    for key, accepted in ((b"wrong", False), (b"right", True)):
        reader, writer = await asyncio.open_connection("127.0.0.1", collector.forward_port)
        [helo_frame] = await _read_until(reader, 1)
        assert helo_frame[0] == "HELO"
        salt = b"0123456789abcdef"
        ping = make_ping(helo_frame, "client.test", key, salt=salt)
        writer.write(msgpack.packb(ping, use_bin_type=True))
        writer.write(encode.message("auth", T, {"key": key.decode()}, {"chunk": "a-1"}))
        [pong] = await _read_until(reader, 1)
        assert pong[1] is accepted
        if accepted:
            assert check_pong(pong, salt, helo_frame[1]["nonce"], key)
            assert await _read_until(reader, 1) == [{"ack": "a-1"}]
        else:
            assert pong[2] == "shared_key mismatch"
            assert await _closed_without_reply(reader) == b""
        writer.close()
    raws = await read_raw(kafka_bootstrap, topics[0], 1)
    assert [r.record for r in raws] == [{"key": "right"}]


async def test_kafka_unreachable_means_no_ack(
    make_settings: Callable[..., Settings], start_collector: Callable[[Settings], Any]
) -> None:
    closed_port = free_port()  # a port nothing listens on
    collector = await start_collector(make_settings(kafka_bootstrap=f"127.0.0.1:{closed_port}"))
    reader, writer = await asyncio.open_connection("127.0.0.1", collector.forward_port)
    writer.write(encode.forward("down", [(T, {"a": 1})], {"chunk": "never-acked"}))
    assert await _closed_without_reply(reader) == b""
    assert collector.metrics.acks.get("forward") == 0
    assert collector.metrics.publish_failures.get("forward") == 1


async def test_signals_are_acked_but_not_published(
    collector: Collector, kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", collector.forward_port)
    writer.write(encode.forward("metrics", [(T, {"cpu": 1})], {"chunk": "sig", "fluent_signal": 1}))
    writer.write(encode.forward("logs", [(T, {"log": 1})], {"chunk": "log"}))
    replies = await _read_until(reader, 2)
    assert sorted(r["ack"] for r in replies) == ["log", "sig"]
    raws = await read_raw(kafka_bootstrap, topics[0], 1)
    assert [r.tag for r in raws] == ["logs"]
    assert collector.metrics.non_logs.get("1") == 1
    writer.close()


async def test_udp_heartbeat(collector: Collector) -> None:
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[bytes] = loop.create_future()

    class Probe(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            if not answered.done():
                answered.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(
        Probe, remote_addr=("127.0.0.1", collector.forward_port)
    )
    transport.sendto(b"\x00")
    assert await asyncio.wait_for(answered, 5) == b"\x00"
    transport.close()


async def test_connection_cap_and_idle_timeout(
    make_settings: Callable[..., Settings], start_collector: Callable[[Settings], Any]
) -> None:
    collector = await start_collector(make_settings(max_connections=2, idle_timeout_s=0.5))
    port = collector.forward_port
    first = await asyncio.open_connection("127.0.0.1", port)
    second = await asyncio.open_connection("127.0.0.1", port)
    await wait_until(lambda: collector.metrics.connections.get() == 2, 5, "two connections")
    third_reader, _ = await asyncio.open_connection("127.0.0.1", port)
    assert await _closed_without_reply(third_reader) == b""
    assert collector.metrics.rejections.get("forward", "connection_limit") == 1
    # the idle ones are closed by the idle timeout, and then new clients get in
    assert await _closed_without_reply(first[0], wait_s=5) == b""
    assert await _closed_without_reply(second[0], wait_s=5) == b""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"\xc0")  # a heartbeat is fine
    await wait_until(lambda: collector.metrics.connections.get() == 1, 5, "new connection")
    writer.close()


async def test_concurrent_large_chunks_to_one_partition_all_acked_once_in_order(
    collector: Collector, kafka_bootstrap: str, topics: tuple[str, str], caplog: Any
) -> None:
    """Chunks big enough for the batch-builder path, from many connections at once, all for
    one service (one partition): every chunk is acked, every record is in Kafka once, each
    chunk's records in order, and the producer is never replaced on the way."""
    connections, chunks, size = 16, 4, 100
    caplog.set_level(logging.WARNING, logger="bitacora.collector")

    async def sender(conn: int) -> list[str]:
        reader, writer = await asyncio.open_connection("127.0.0.1", collector.forward_port)
        acks = []
        for n in range(chunks):
            entries = [(T, {"message": f"c{conn}-{n}-{i}", "service": "one"}) for i in range(size)]
            chunk = f"conn{conn}-chunk{n}"
            writer.write(encode.forward("one.app", entries, {"chunk": chunk}))
            await writer.drain()
            (reply,) = await _read_until(reader, 1)
            acks.append(reply["ack"])
        writer.close()
        return acks

    acked = await asyncio.gather(*(sender(c) for c in range(connections)))
    assert acked == [[f"conn{c}-chunk{n}" for n in range(chunks)] for c in range(connections)]
    records = await read_topic(kafka_bootstrap, topics[0], connections * chunks * size)
    assert len({r.partition for r in records}) == 1
    raws = raw_events(sorted(records, key=lambda r: r.offset))
    assert len(raws) == connections * chunks * size
    texts = [raw.record["message"] for raw in raws]
    assert sorted(texts) == sorted(
        f"c{c}-{n}-{i}" for c in range(connections) for n in range(chunks) for i in range(size)
    )
    for c in range(connections):
        for n in range(chunks):
            mine = [t for t in texts if t.startswith(f"c{c}-{n}-")]
            assert mine == [f"c{c}-{n}-{i}" for i in range(size)]
    assert not [r for r in caplog.records if "replacing the Kafka producer" in r.getMessage()]
