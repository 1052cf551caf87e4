"""Producing in Kafka batches on the real Kafka: every output once, in order per partition."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaTimeoutError, NotLeaderForPartitionError

from bitacora.partitions import partition_for
from bitacora.settings import Settings
from processors.normalize_stage import Output
from processors.produce import Delivery, enqueue, new_producer, send_all, settle

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
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """The roles' producer with Kafka batches of at most 1 KiB (a few records each)."""
    settings = Settings(kafka_bootstrap=kafka_bootstrap, kafka_max_batch_bytes=1024)
    producer = new_producer(settings, "test-produce")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def outputs(topic: str, count: int, tag: str) -> list[Output]:
    """Keyed outputs over five keys, every seventh unkeyed; each ~200 bytes with two headers."""
    made = []
    for i in range(count):
        key = None if i % 7 == 3 else f"svc-{i % 5}".encode()
        value = f'{{"tag":"{tag}","n":{i},"pad":"{"x" * 160}"}}'.encode()
        made.append(Output(topic, key, value, [("id", f"{tag}-{i}".encode()), ("n", b"%d" % i)]))
    return made


async def read_all(bootstrap: str, topic: str, count: int) -> dict[int, list[Stored]]:
    """Every record of ``topic`` per partition, in offset order, once ``count`` are there."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        assert sum(ends.values()) == count  # not one record more (nor fewer) than sent
        stored: dict[int, list[Stored]] = {p: [] for p in range(PARTITIONS)}
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
    kafka_bootstrap: str, topic: str, producer: AIOKafkaProducer
) -> None:
    first, second = outputs(topic, 300, "a"), outputs(topic, 120, "b")
    deliveries = await enqueue(producer, first)
    # 300 records of ~230 bytes in 1 KiB batches: many Kafka batches per partition.
    assert len(deliveries) >= 300 * 230 // 1024
    assert sorted(o.value for d in deliveries for o in d.outputs) == sorted(o.value for o in first)
    await settle(producer, deliveries, "test")
    await send_all(producer, second, "test")

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
    kafka_bootstrap: str, topic: str, producer: AIOKafkaProducer
) -> None:
    outs = [o._replace(key=b"svc-0") for o in outputs(topic, 30, "c")]
    delivered = await enqueue(producer, outs[:10])
    failed_future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    failed_future.set_exception(NotLeaderForPartitionError())
    deliveries = [
        *delivered,
        Delivery(outs[10:20], failed_future),  # its batch failed in Kafka
        Delivery(outs[20:], KafkaTimeoutError()),  # could not be submitted
    ]
    await settle(producer, deliveries, "test")

    stored = await read_all(kafka_bootstrap, topic, len(outs))
    assert stored == expected_by_partition(outs, {})
