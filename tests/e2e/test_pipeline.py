"""Real clients through the whole pipeline: fluent-logger → collector → Kafka → processor →
OpenSearch, on the real stack, with exact field values and exact counts."""

from __future__ import annotations

import socket
from collections import Counter
from typing import Any

import aiohttp
import msgpack
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.group import MemberAssignment
from fluent.sender import FluentSender

from bench import services
from bitacora.schema import consumer_group
from tests.reliability.harness import Pipeline, all_docs, indexed_seqs, wait_until

DEADLINE_S = 90


async def _count(session: aiohttp.ClientSession, url: str, pattern: str) -> int:
    await services.os_refresh(session, url, pattern)
    status, payload = await services.os_request(
        session, "GET", f"{url}/{pattern}/_count?ignore_unavailable=true&allow_no_indices=true"
    )
    return int(payload["count"]) if status == 200 else 0


async def test_fluent_logger_events_arrive_with_exact_fields(pipeline: Pipeline) -> None:
    pipeline.start_collector()
    pipeline.start_processor()
    service = f"{pipeline.prefix}-review-service"
    sender = FluentSender(service, port=pipeline.forward_port, nanosecond_precision=True)
    try:
        assert sender.emit_with_time(
            "app",
            1764320000.5,
            {
                "level": "ERROR",
                "message": "could not publish review 42",
                "logger": "review.handlers",
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                "span_id": "00f067aa0ba902b7",
                "exc_type": "ValueError",
                "exc_message": "rating must be 1..5",
                "password": "hunter2-canary",
                "order": {"id": 42, "items": 3},
            },
        )
        assert sender.emit_with_time("app", 1764320001.25, {"log": "WARNING slow query 1800 ms"})
    finally:
        sender.close()

    url = pipeline.settings.opensearch_url
    async with aiohttp.ClientSession() as session:
        await wait_until(
            lambda: _is(_count(session, url, f"logs-{service}"), 2), DEADLINE_S, "2 documents"
        )
        docs = sorted(
            await all_docs(session, url, f"logs-{service}"), key=lambda d: d["@timestamp"]
        )

    first, second = docs
    assert len(first["event.id"]) == 32
    assert first["event.ingested"].endswith("Z")
    assert {k: v for k, v in first.items() if k not in ("event.id", "event.ingested")} == {
        "@timestamp": "2025-11-28T08:53:20.500000000Z",
        "event.dataset": f"{service}.app",
        "event.severity": 17,
        "message": "could not publish review 42",
        "log.level": "error",
        "log.logger": "review.handlers",
        "service.name": service,
        "trace.id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span.id": "00f067aa0ba902b7",
        "error.type": "ValueError",
        "error.message": "rating must be 1..5",
        "labels": {"password": "[REDACTED:password]", "order": {"id": 42, "items": 3}},
    }
    assert second["@timestamp"] == "2025-11-28T08:53:21.250000000Z"
    assert (second["log.level"], second["event.severity"]) == ("warn", 13)
    assert second["message"] == "WARNING slow query 1800 ms"
    assert first["event.id"] != second["event.id"]


async def _is(awaitable: Any, expected: int) -> bool:
    return bool(await awaitable == expected)


def _forward_chunk(tag: str, records: list[dict[str, Any]], chunk: str) -> bytes:
    entries = [[1764320000 + i, record] for i, record in enumerate(records)]
    return msgpack.packb([tag, entries, {"chunk": chunk, "size": len(entries)}], use_bin_type=True)


def _send_with_ack(port: int, frame: bytes, chunk: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(frame)
        unpacker = msgpack.Unpacker(raw=False)
        while True:
            data = sock.recv(4096)
            assert data, "the collector closed the connection without an ack"
            unpacker.feed(data)
            for reply in unpacker:
                assert reply == {"ack": chunk}
                return


async def test_the_same_chunk_sent_twice_gives_one_document_per_event(pipeline: Pipeline) -> None:
    pipeline.start_collector()
    pipeline.start_processor()
    service = f"{pipeline.prefix}-order-service"
    records = [{"message": "order 7 created", "source": "dup", "seq": i} for i in range(3)]
    frame = _forward_chunk(f"{service}.app", records, "Y2h1bmstMQ==")
    _send_with_ack(pipeline.forward_port, frame, "Y2h1bmstMQ==")
    _send_with_ack(pipeline.forward_port, frame, "Y2h1bmstMQ==")  # the sender's retry
    # A sentinel behind both copies on the same partition (same service key): once it is
    # indexed, both copies of the chunk have been processed.
    sentinel = _forward_chunk(
        f"{service}.app", [{"message": "sentinel", "source": "end", "seq": 0}], "c2VudGluZWw="
    )
    _send_with_ack(pipeline.forward_port, sentinel, "c2VudGluZWw=")

    url = pipeline.settings.opensearch_url
    async with aiohttp.ClientSession() as session:
        await wait_until(
            lambda: _has_seq(session, url, f"logs-{service}", "end"), DEADLINE_S, "the sentinel"
        )
        seen = await indexed_seqs(session, url, f"logs-{service}", "dup")
        assert seen == Counter({0: 1, 1: 1, 2: 1})
        assert await _count(session, url, f"logs-{service}") == 4


async def _has_seq(session: aiohttp.ClientSession, url: str, pattern: str, source: str) -> bool:
    return bool(await indexed_seqs(session, url, pattern, source))


async def test_two_workers_share_the_partitions_and_totals_stay_exact(pipeline: Pipeline) -> None:
    pipeline.start_collector()
    pipeline.start_processor("processor-1", roles=("normalize", "index"))
    pipeline.start_processor("processor-2", roles=("normalize", "index"))
    services_sent = [f"{pipeline.prefix}-svc{i}" for i in range(6)]
    per_service = 300
    senders = [FluentSender(s, port=pipeline.forward_port) for s in services_sent]
    try:
        for seq in range(per_service):
            for name, sender in zip(services_sent, senders, strict=True):
                assert sender.emit("app", {"message": f"{name} line", "source": name, "seq": seq})
    finally:
        for sender in senders:
            sender.close()

    url = pipeline.settings.opensearch_url
    async with aiohttp.ClientSession() as session:
        total = len(services_sent) * per_service
        await wait_until(
            lambda: _is(_count(session, url, pipeline.pattern), total),
            DEADLINE_S * 2,
            f"{total} docs",
        )
        for name in services_sent:
            seen = await indexed_seqs(session, url, f"logs-{name}", name)
            assert seen == Counter(range(per_service)), name
    group = consumer_group(pipeline.env["BITACORA_APP_ID"], "normalize")

    async def shared() -> dict[str, int] | None:
        members = await _group_members(pipeline, group)
        return members if sorted(members.values()) == [1, 2] else None

    # The raw topic's 3 partitions, split between the two workers.
    await wait_until(shared, 60, "two members sharing 3 partitions")


async def _group_members(pipeline: Pipeline, group: str) -> dict[str, int]:
    """member id → partitions of the raw topic assigned to it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=pipeline.settings.kafka_bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    raw_topic = pipeline.env["BITACORA_TOPIC_RAW"]
    members: dict[str, int] = {}
    for response in responses:
        for _error, _group, _state, _protocol_type, _protocol, group_members, *_ in response.groups:
            for member_id, _client, _host, _metadata, assignment, *_ in group_members:
                if not assignment:  # mid-rebalance: nothing assigned yet
                    members[member_id] = 0
                    continue
                decoded = MemberAssignment.decode(assignment)
                members[member_id] = sum(
                    len(partitions)
                    for topic, partitions in decoded.assignment
                    if topic == raw_topic
                )
    return members
