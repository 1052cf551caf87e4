"""Both clients on both hops of ``bench.kafka_client_bench``, each measured over a
:class:`Window` of this process's CPU (every thread) and, when ours, the broker's."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import confluent_kafka
import confluent_kafka.admin
from aiokafka import TopicPartition

from bench.kafka_client_rows import Sample
from bench.procs import precise_cpu_seconds
from bitacora import clients
from bitacora.gctune import tune_for_streaming
from bitacora.processors.normalize.stage import Output
from bitacora.processors.shell.produce import Sink, enqueue, settle
from bitacora.settings import KafkaCompression, Settings

WITHIN_S = 0.05  # the normalize role's batch window (BatchRole ``within_s``)
FETCH_BYTES = 4 * 1024 * 1024  # BatchRole's max_partition_fetch_bytes
STALL_S = 60.0  # no progress for this long: the run is broken, not slow
ROLE = "normalize"


class Offsets:
    """The next offset per partition: each must arrive in order, once, from ``start``."""

    def __init__(self, partitions: int, start: int = 0) -> None:
        self.next = dict.fromkeys(range(partitions), start)
        self.count = 0
        self._committed = dict(self.next)

    def take(self, partition: int, offset: int) -> None:
        """Account for the record at ``offset``; raise unless it is the partition's next."""
        expected = self.next[partition]
        if offset != expected:
            raise RuntimeError(f"partition {partition}: got offset {offset}, expected {expected}")
        self.next[partition] = offset + 1
        self.count += 1

    def to_commit(self) -> dict[int, int]:
        """Partition → next offset, for the partitions that moved since the last call."""
        moved = {p: n for p, n in self.next.items() if n != self._committed[p]}
        self._committed.update(moved)
        return moved


def batches(items: Sequence[Output], size: int) -> Iterator[Sequence[Output]]:
    """``items`` in consecutive slices of ``size`` (the last one shorter)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def librdkafka_producer(
    settings: Settings, compression: KafkaCompression
) -> confluent_kafka.Producer:
    """A producer with the options of ``produce.new_producer``, in librdkafka's terms."""
    return confluent_kafka.Producer(
        {
            **clients.librdkafka_config(settings),
            "client.id": "bench-confluent",
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": settings.kafka_linger_ms,
            "batch.size": settings.kafka_max_batch_bytes,
            "message.max.bytes": settings.kafka_max_batch_bytes + 65536,
            "compression.type": compression,
            # aiokafka's level too (bitacora.kafkacodec.use_zstd_level); librdkafka's -1 is the
            # codec's default, not a fast level.
            **({"compression.level": settings.kafka_zstd_level} if compression == "zstd" else {}),
            "partitioner": "murmur2_random",  # the Java client's (and aiokafka's) partitions
        }
    )


def wait_leaders(settings: Settings, topic: str, partitions: int) -> None:
    """Return once every partition of a new ``topic`` has a leader (a producer would
    otherwise retry NotLeaderForPartition inside the measured window)."""
    admin = confluent_kafka.admin.AdminClient(clients.librdkafka_config(settings))
    deadline = time.monotonic() + STALL_S
    while True:
        found = admin.list_topics(topic, timeout=10).topics.get(topic)
        led = [] if found is None or found.error else found.partitions.values()
        if sum(1 for p in led if p.leader >= 0) == partitions:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{topic}: partitions without a leader after {STALL_S:.0f} s")
        time.sleep(0.05)


def wait_coordinator(settings: Settings, group: str, parts: list[Any]) -> None:
    """Return once ``group``'s coordinator answers for its offsets, asked by a consumer of
    its own. On a fresh broker the offsets topic is still loading: the measured consumer's
    offset fetch after ``assign`` would fail then (NOT_COORDINATOR), and librdkafka does
    not fetch again."""
    probe = confluent_kafka.Consumer(
        {**clients.librdkafka_config(settings), "group.id": group, "enable.auto.commit": False}
    )
    deadline = time.monotonic() + STALL_S
    try:
        while True:
            try:
                probe.committed(parts, timeout=10)
                return
            except confluent_kafka.KafkaException as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{group}: no group coordinator: {exc}") from exc
            time.sleep(0.05)
    finally:
        probe.close()


class Window:
    """CPU and wall seconds of this process (and of Kafka, when ours) over a ``with`` block."""

    def __init__(self, kafka_pid: int | None) -> None:
        self.kafka_pid = kafka_pid
        self.cpu_s = self.wall_s = self.kafka_cpu_s = math.nan

    def _kafka(self) -> float:
        if self.kafka_pid is None:
            return math.nan
        try:
            return precise_cpu_seconds(self.kafka_pid)
        except OSError:
            return math.nan

    def __enter__(self) -> Window:
        # As the processor runs (bitacora.gctune), with what earlier windows left frozen: no
        # window pays for walking another's objects.
        tune_for_streaming()
        self._k0 = self._kafka()  # read first: reading the broker's threads costs us CPU
        self._cpu0, self._t0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu_s = time.process_time() - self._cpu0
        self.wall_s = time.perf_counter() - self._t0
        self.kafka_cpu_s = self._kafka() - self._k0


def _stalled(since: float) -> bool:
    return time.monotonic() - since > STALL_S


async def consume_aiokafka(
    settings: Settings, topic: str, ends: dict[int, int], group: str, kafka_pid: int | None
) -> Sample:
    """Read ``topic`` to ``ends`` with aiokafka, batch and commit as BatchRole does."""
    consumer = clients.kafka_consumer(
        settings,
        group_id=group,
        client_id="bench-aiokafka",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=FETCH_BYTES,
    )
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in sorted(ends)]
    await consumer.committed(tps[0])  # the group's coordinator known: outside the window
    offsets, expected, size = Offsets(len(ends)), sum(ends.values()), 0
    loop = asyncio.get_running_loop()
    try:
        with Window(kafka_pid) as window:
            consumer.assign(tps)
            progress = time.monotonic()
            while offsets.count < expected:
                deadline, count = loop.time() + WITHIN_S, 0  # BatchRole._take
                while count < settings.bulk_max_docs:
                    remaining = deadline - loop.time()
                    got = await consumer.getmany(
                        timeout_ms=max(0, int(remaining * 1000)),
                        max_records=settings.bulk_max_docs - count,
                    )
                    for tp, records in got.items():
                        count += len(records)
                        for record in records:
                            offsets.take(tp.partition, record.offset)
                            size += len(record.value)
                    if remaining <= 0:
                        break
                if count:
                    progress = time.monotonic()
                    moved = offsets.to_commit()
                    await consumer.commit({TopicPartition(topic, p): n for p, n in moved.items()})
                elif _stalled(progress):
                    raise RuntimeError(f"aiokafka consumed {offsets.count} of {expected}")
        committed = {tp.partition: await consumer.committed(tp) for tp in tps}
    finally:
        await consumer.stop()
    return _consumed("aiokafka", window, offsets, committed, ends, size)


def consume_confluent(
    settings: Settings, topic: str, ends: dict[int, int], group: str, kafka_pid: int | None
) -> Sample:
    """Read ``topic`` to ``ends`` with confluent-kafka in the same batches and commits."""
    parts = [confluent_kafka.TopicPartition(topic, p) for p in sorted(ends)]
    wait_coordinator(settings, group, parts)
    consumer = confluent_kafka.Consumer(
        {
            **clients.librdkafka_config(settings),
            "group.id": group,
            "client.id": "bench-confluent",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "max.partition.fetch.bytes": FETCH_BYTES,
        }
    )
    # Connected, metadata known: outside the window. (Asking for the group's offsets here
    # too delays librdkafka's first fetch after ``assign`` by about a second.)
    consumer.list_topics(topic, timeout=10)
    offsets, expected, size = Offsets(len(ends)), sum(ends.values()), 0
    try:
        with Window(kafka_pid) as window:
            consumer.assign(parts)
            progress = time.monotonic()
            while offsets.count < expected:
                messages = consumer.consume(num_messages=settings.bulk_max_docs, timeout=WITHIN_S)
                for message in messages:
                    error = message.error()
                    if error is not None:
                        raise RuntimeError(f"confluent-kafka: {error}")
                    # A message without an error has its partition, offset and value.
                    offsets.take(message.partition(), message.offset())  # type: ignore[arg-type]
                    size += len(message.value())  # type: ignore[arg-type]
                if messages:
                    progress = time.monotonic()
                    moved = offsets.to_commit()
                    consumer.commit(
                        offsets=[
                            confluent_kafka.TopicPartition(topic, p, n) for p, n in moved.items()
                        ],
                        asynchronous=False,
                    )
                elif _stalled(progress):
                    raise RuntimeError(f"confluent-kafka consumed {offsets.count} of {expected}")
        committed = {tp.partition: tp.offset for tp in consumer.committed(parts, timeout=10)}
    finally:
        consumer.close()
    return _consumed("confluent", window, offsets, committed, ends, size)


def _consumed(
    client: str,
    window: Window,
    offsets: Offsets,
    committed: Mapping[int, int | None],
    ends: dict[int, int],
    size: int,
) -> Sample:
    # Partitions without records have no commit (None, or librdkafka's OFFSET_INVALID).
    done = {p: n for p, n in committed.items() if n is not None and n >= 0}
    if offsets.next != ends or done != {p: n for p, n in ends.items() if n}:
        raise RuntimeError(
            f"{client}: read up to {offsets.next}, committed {committed}, topic ends at {ends}"
        )
    return Sample("consume", client, offsets.count, window.cpu_s, window.wall_s,
                  window.kafka_cpu_s, size)  # fmt: skip


async def aiokafka_sink(settings: Settings, compression: KafkaCompression) -> Sink:
    """The normalize role's ``Sink``, started, its producer compressing as ``compression``."""
    sink = Sink(settings.model_copy(update={"kafka_compression": compression}), ROLE)
    await sink.start()
    return sink


async def produce_aiokafka(
    settings: Settings,
    outputs: Sequence[Output],
    compression: KafkaCompression,
    kafka_pid: int | None,
    scratch: str,
) -> Window:
    """Produce ``outputs`` batch by batch through ``enqueue`` + ``settle``, as the normalize
    role does (at most ``processor_batches_in_flight`` batches unsettled); one record to
    ``scratch`` first, untimed."""
    sink = await aiokafka_sink(settings, compression)
    try:
        # Producer id, connection and metadata outside the window.
        await sink.producer.send_and_wait(scratch, b"warm-up")
        await sink.producer.partitions_for(outputs[0].topic)
        with Window(kafka_pid) as window:
            inflight: deque[asyncio.Future[None]] = deque()
            for batch in batches(outputs, settings.bulk_max_docs):
                deliveries = await enqueue(sink.producer, batch)
                inflight.append(asyncio.ensure_future(settle(sink, deliveries)))
                while len(inflight) >= settings.processor_batches_in_flight:
                    await inflight.popleft()
            await asyncio.gather(*inflight)
    finally:
        await sink.stop()
    if sink.renewals:
        raise RuntimeError(f"aiokafka: Kafka refused batches ({sink.renewals} renewals)")
    return window


def produce_confluent(
    settings: Settings,
    outputs: Sequence[Output],
    compression: KafkaCompression,
    kafka_pid: int | None,
    scratch: str,
) -> Window:
    """Produce ``outputs`` with confluent-kafka; every delivery report must be a success (one
    record to ``scratch`` first, untimed)."""
    producer = librdkafka_producer(settings, compression)
    # Producer id, connection and metadata outside the window.
    producer.produce(scratch, b"warm-up")
    if producer.flush(STALL_S):
        raise RuntimeError(f"confluent-kafka: the warm-up record to {scratch} was not acknowledged")
    producer.list_topics(outputs[0].topic, timeout=10)
    acked, errors = [0], []

    def delivered(error: Any, _message: Any) -> None:
        if error is None:
            acked[0] += 1
        else:
            errors.append(error)

    with Window(kafka_pid) as window:
        produce, poll = producer.produce, producer.poll
        for batch in batches(outputs, settings.bulk_max_docs):
            for out in batch:
                while True:
                    try:
                        produce(
                            out.topic,
                            out.value,
                            out.key,
                            on_delivery=delivered,
                            headers=out.headers,  # type: ignore[arg-type]  # (str, bytes) pairs
                        )
                        break
                    except BufferError:  # the local queue is full: serve delivery reports
                        poll(0.05)
            poll(0)
        left = producer.flush(STALL_S)
    if left or errors or acked[0] != len(outputs):
        raise RuntimeError(
            f"confluent-kafka: {acked[0]} of {len(outputs)} acknowledged, {left} left, "
            f"errors {errors[:3]}"
        )
    return window
