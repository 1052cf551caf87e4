"""Producing in Kafka batches on the real Kafka: every output once, in order per partition."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaTimeoutError, NotLeaderForPartitionError

from bitacora.partitions import partition_for
from bitacora.processors.normalize.stage import ID_HEADER, Output
from bitacora.processors.shell.produce import Delivery, Sink, enqueue, send_all, settle
from bitacora.settings import Settings

PARTITIONS = 4
DEADLINE_S = 60.0
Stored = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


@pytest.fixture
async def topic(kafka_bootstrap: str) -> AsyncIterator[str]:
    """A fresh topic of ``PARTITIONS`` partitions, deleted afterwards."""
    name = f"produce-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()


@pytest.fixture
async def sink(kafka_bootstrap: str, topic: str) -> AsyncIterator[Sink]:
    """The roles' producer with Kafka batches of at most 1 KiB (a few records each); dead
    letters go to ``<topic>.deadletter``."""
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        kafka_max_batch_bytes=1024,
        topic_deadletter=f"{topic}.deadletter",
    )
    sink = Sink(settings, "test-produce")
    await sink.start()
    try:
        yield sink
    finally:
        await sink.stop()


def outputs(topic: str, count: int, tag: str) -> list[Output]:
    """Keyed outputs over five keys, every seventh unkeyed; each ~200 bytes with two headers."""
    made = []
    for i in range(count):
        key = None if i % 7 == 3 else f"svc-{i % 5}".encode()
        value = f'{{"tag":"{tag}","n":{i},"pad":"{"x" * 160}"}}'.encode()
        made.append(Output(topic, key, value, [("id", f"{tag}-{i}".encode()), ("n", b"%d" % i)]))
    return made


async def read_all(
    bootstrap: str, topic: str, count: int, partitions: int = PARTITIONS
) -> dict[int, list[Stored]]:
    """Every record of ``topic`` per partition, in offset order, once ``count`` are there."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        assert sum(ends.values()) == count  # not one record more (nor fewer) than sent
        stored: dict[int, list[Stored]] = {p: [] for p in range(partitions)}
        got, end = 0, time.monotonic() + DEADLINE_S
        while got < count:
            assert time.monotonic() < end, f"read {got} of {count} records"
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for r in records:
                    stored[tp.partition].append(
                        (r.key, r.value, [(k, bytes(v)) for k, v in r.headers])
                    )
                got += len(records)
        return stored
    finally:
        await consumer.stop()


def expected_by_partition(outs: list[Output], unkeyed: dict[int, int]) -> dict[int, list[Stored]]:
    """Where each output must be, in order: its key's partition, else its call's partition."""
    expected: dict[int, list[Stored]] = {p: [] for p in range(PARTITIONS)}
    for n, out in enumerate(outs):
        where = unkeyed[n] if out.key is None else partition_for(out.key, PARTITIONS)
        expected[where].append((out.key, out.value, out.headers or []))
    return expected


def where_unkeyed(stored: dict[int, list[Stored]], outs: list[Output]) -> dict[int, int]:
    """The partition each unkeyed output landed on (found by its id header)."""
    found = {s[2][0][1]: p for p, records in stored.items() for s in records}
    return {n: found[o.headers[0][1]] for n, o in enumerate(outs) if o.key is None and o.headers}


async def test_many_batches_over_several_partitions_arrive_once_and_in_order(
    kafka_bootstrap: str, topic: str, sink: Sink
) -> None:
    first, second = outputs(topic, 300, "a"), outputs(topic, 120, "b")
    deliveries = await enqueue(sink.producer, first)
    # 300 records of ~230 bytes in 1 KiB batches: many Kafka batches per partition.
    assert len(deliveries) >= 300 * 230 // 1024
    assert sorted(o.value for d in deliveries for o in d.outputs) == sorted(o.value for o in first)
    await settle(sink, deliveries)
    await send_all(sink, second)

    everything = first + second
    stored = await read_all(kafka_bootstrap, topic, len(everything))
    unkeyed = where_unkeyed(stored, everything)
    # Sticky per call: one partition for a call's unkeyed outputs, the next call the next one.
    first_unkeyed = {unkeyed[n] for n in unkeyed if n < len(first)}
    second_unkeyed = {unkeyed[n] for n in unkeyed if n >= len(first)}
    assert len(first_unkeyed) == 1
    assert len(second_unkeyed) == 1
    assert second_unkeyed == {(first_unkeyed.pop() + 1) % PARTITIONS}
    assert stored == expected_by_partition(everything, unkeyed)


async def test_what_failed_is_sent_again_until_kafka_holds_it(
    kafka_bootstrap: str, topic: str, sink: Sink
) -> None:
    outs = [o._replace(key=b"svc-0") for o in outputs(topic, 30, "c")]
    delivered = await enqueue(sink.producer, outs[:10])
    failed_future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    failed_future.set_exception(NotLeaderForPartitionError())
    deliveries = [
        *delivered,
        Delivery(outs[10:20], failed_future),  # its batch failed in Kafka
        Delivery(outs[20:], KafkaTimeoutError()),  # could not be submitted
    ]
    await settle(sink, deliveries)

    stored = await read_all(kafka_bootstrap, topic, len(outs))
    assert stored == expected_by_partition(outs, {})
    assert sink.renewals == 0  # retriable failures keep the producer


async def test_a_record_kafka_refuses_is_dead_lettered_and_the_rest_flows_on(
    kafka_bootstrap: str, sink: Sink
) -> None:
    """A topic whose ``max.message.bytes`` is below a record: Kafka refuses that record for
    good, which breaks the idempotent producer's sequence for the partition. The producer is
    renewed, the refused record becomes a dead letter, and every other record arrives once."""
    small = f"produce-small-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(small, PARTITIONS, 1, topic_configs={"max.message.bytes": "2000"}),
                NewTopic(sink.settings.topic_deadletter, 1, 1),
            ]
        )
        outs = [o._replace(key=b"svc-0") for o in outputs(small, 12, "d")]
        noise = random.Random(5).randbytes(5000).hex().encode()  # over 2000 bytes compressed
        big = Output(small, b"svc-0", b'{"big":"' + noise + b'"}', [(ID_HEADER, b"ev-big")])
        sent = [*outs[:5], big, *outs[5:]]
        first = sink.producer
        await send_all(sink, sent)
        await send_all(sink, outs[:2])  # the renewed producer keeps working

        assert sink.producer is not first
        stored = await read_all(kafka_bootstrap, small, len(outs) + 2)
        expected = expected_by_partition([*outs, *outs[:2]], {})
        # Once each (outs[:2] twice: sent twice); a refusal may reorder the partition.
        assert {p: sorted(r) for p, r in stored.items()} == {
            p: sorted(r) for p, r in expected.items()
        }
        [letter] = [
            r[1] for r in (await read_all(kafka_bootstrap, sink.settings.topic_deadletter, 1, 1))[0]
        ]
        record = json.loads(letter)
        dead = record["deadletter"]
        assert (dead["stage"], dead["error_type"]) == ("test-produce", "kafka_refused")
        assert dead["reason"] == (
            f"kafka_refused: MessageSizeTooLargeError producing {len(big.value)} bytes to {small}"
        )
        assert (dead["original_bytes"], dead["original_truncated"]) == (len(big.value), False)
        assert record["event"]["id"] == "ev-big"
    finally:
        await admin.delete_topics([small, sink.settings.topic_deadletter])
        await admin.close()


async def test_a_batch_too_large_for_the_topic_is_sent_again_record_by_record(
    kafka_bootstrap: str, topic: str
) -> None:
    """Every record fits the topic's ``max.message.bytes`` but a batch of them does not:
    Kafka refuses the batches, which are sent again one record each; none is dead-lettered.
    (A later batch Kafka took stays ahead of the refused ones: once each, not in order.)"""
    small = f"produce-small-{uuid.uuid4().hex[:10]}"
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        kafka_max_batch_bytes=4096,
        topic_deadletter=f"{topic}.deadletter",
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    sink = Sink(settings, "test-produce")
    await sink.start()
    try:
        await admin.create_topics(
            [NewTopic(small, PARTITIONS, 1, topic_configs={"max.message.bytes": "2000"})]
        )
        # Random bytes: a batch of them stays over 2000 bytes compressed, one alone fits.
        noise = random.Random(9)
        outs = [Output(small, b"svc-0", b"%04d" % i + noise.randbytes(900)) for i in range(10)]
        await send_all(sink, outs)

        assert sink.renewals >= 1
        stored = await read_all(kafka_bootstrap, small, len(outs))
        expected = expected_by_partition(outs, {})
        assert {p: sorted(r) for p, r in stored.items()} == {
            p: sorted(r) for p, r in expected.items()
        }
        assert settings.topic_deadletter not in await admin.list_topics()  # nothing dead
    finally:
        await sink.stop()
        await admin.delete_topics([small])
        await admin.close()
