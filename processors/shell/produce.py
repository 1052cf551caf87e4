"""Producing a batch role's outputs: built into Kafka batches, then until Kafka holds all.

``AIOKafkaProducer.send`` costs several µs a message in Python (a metadata lookup, a
partition check, a future and the accumulator's bookkeeping, per message). A role's outputs
come in batches anyway, so :func:`enqueue` groups them per (topic, partition), appends each
group in order to aiokafka batch builders (``create_batch``: one Kafka record batch of up to
``kafka_max_batch_bytes`` each; a full builder is submitted and the next one started) and
submits every builder with ``send_batch``: one future per Kafka batch, not per message.

Partitions. A keyed output goes to Kafka's default partition for its key
(:func:`bitacora.partitions.partition_for`, the Java client's murmur2, as ``send`` did).
Unkeyed outputs are sticky per call: all unkeyed outputs of one call for a topic go to one
partition, and each call takes the next one (round robin over calls). That is Kafka's
sticky partitioner (KIP-480) with a call as the unit: batches fill up instead of one
record landing on every partition, and the load still spreads over the partitions.

Order. A group keeps its outputs' order; its builders are submitted in that order; an
idempotent producer (:func:`new_producer`) sends at most one batch per partition at a time,
numbers batches per partition and retries a retriable failure in place (the broker drops a
duplicate sequence). Each partition therefore holds a call's outputs in order, after those
of the calls before.

Failures. aiokafka itself retries retriable errors (connection lost, leader moved, request
timed out), with idempotence for as long as it takes; a batch's future fails only on a
non-retriable error, or when the batch expired waiting for a partition without any leader.
Submitting fails when the partition's queue does not drain within ``request_timeout_ms``
(Kafka down) or there is no metadata: that batch and every one not submitted yet count as
failed, so :func:`enqueue` never raises a Kafka error. :func:`settle` sends what failed
again, in order, with capped backoff, until Kafka holds all of it (backpressure, never
loss). What is sent again comes after what later calls handed over meanwhile, so across
such an outage the order holds within a call, not across calls (as with ``send`` before);
unkeyed outputs sent again may land on another partition, as with any producer.

Refusals. A non-retriable failure (a record too large for the topic's ``max.message.bytes``,
say) leaves a gap in the idempotent producer's sequence numbers: every later batch of that
partition fails with OutOfOrderSequenceNumber, for ever. :func:`settle` therefore renews the
role's producer (:class:`Sink`, a new producer id) after one, sends a refused batch's
records one per batch to find the culprit, and replaces a record refused on its own by its
dead letter (reason ``kafka_refused``), so nothing is stuck and nothing is lost silently.
Batches of the same call that Kafka took meanwhile stay ahead of the refused ones sent
again: after a refusal a partition holds every record once, not in the call's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    BrokerResponseError,
    CorruptRecordException,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)

from bitacora import clients
from bitacora.deadletter import deadletter_record, redactor_for
from bitacora.partitions import partition_for
from bitacora.processors.normalize import to_json_bytes
from bitacora.processors.normalize.stage import ID_HEADER, Output
from bitacora.processors.shell.counters import COUNTERS
from bitacora.settings import Settings

log = logging.getLogger("bitacora.processor")
MAX_BACKOFF_S = 5.0

# Whose turn it is for unkeyed outputs: one step per enqueue call, shared by the process.
_unkeyed_turns = itertools.count()
# Kafka refused the records themselves: sending them again as they are cannot succeed.
_RECORD_REFUSED = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
)


class Delivery(NamedTuple):
    """Outputs submitted as one Kafka batch: its delivery future, or the error that stopped it."""

    outputs: list[Output]
    result: asyncio.Future[Any] | KafkaError


def new_producer(settings: Settings, name: str) -> AIOKafkaProducer:
    """An idempotent ``acks=all`` producer for a role's outputs (order kept per partition)."""
    return clients.kafka_producer(
        settings,
        client_id=f"bitacora-{name}",
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=settings.kafka_max_batch_bytes,
        max_request_size=settings.kafka_max_batch_bytes + 65536,
    )


class Sink:
    """A role's producer, renewed after a refusal, and the dead letters of refused records."""

    def __init__(self, settings: Settings, role: str) -> None:
        self.settings = settings
        self.role = role
        self.producer = new_producer(settings, role)
        self.renewals = 0
        self.redact = redactor_for(settings)  # for the role's own dead letters too

    async def start(self) -> None:
        """Start the producer."""
        await self.producer.start()

    async def stop(self) -> None:
        """Flush and close the producer."""
        await self.producer.stop()

    async def renew(self) -> None:
        """Replace the producer: a refused batch broke its sequence numbers for good."""
        old, self.producer = self.producer, new_producer(self.settings, self.role)
        await self.producer.start()
        self.renewals += 1
        log.warning("%s: Kafka refused a batch; producing with a new producer", self.role)
        with contextlib.suppress(KafkaError, TimeoutError):
            await asyncio.wait_for(old.stop(), 10.0)  # its queued batches fail: resent

    def letter(self, out: Output, error: KafkaError) -> Output | None:
        """The dead letter standing for ``out``, which Kafka refused on its own (None for a
        dead letter itself: there is nowhere left to put it, so it is logged and counted)."""
        name = type(error).__name__
        if out.topic == self.settings.topic_deadletter:
            COUNTERS.add(self.role, "dropped", f"deadletter_refused:{name}")
            log.error("%s: Kafka refused a dead letter (%s); dropped", self.role, name)
            return None
        event_id = next((bytes(v).decode() for n, v in out.headers or () if n == ID_HEADER), None)
        record = deadletter_record(
            stage=self.role,
            reason=f"kafka_refused: {name} producing {len(out.value)} bytes to {out.topic}",
            original=out.value,
            topic=None,
            partition=None,
            offset=None,
            dataset=None,
            now_ns=time.time_ns(),
            event_id=event_id,
            redact=self.redact,
        )
        COUNTERS.add(self.role, "deadletter", "kafka_refused")
        return Output(self.settings.topic_deadletter, out.key, to_json_bytes(record))


def group_by_partition(
    outputs: Sequence[Output], partition_counts: Mapping[str, int], turn: int
) -> dict[tuple[str, int], list[Output]]:
    """``outputs`` per (topic, partition), each group in the order given.

    An output naming its partition goes there; a keyed one to Kafka's default partition for
    its key; unkeyed ones to partition ``turn`` modulo the topic's partition count (sticky
    for the call).
    """
    groups: dict[tuple[str, int], list[Output]] = {}
    for out in outputs:
        topic, key = out.topic, out.key
        count = partition_counts[topic]
        if out.partition is not None:
            where = (topic, out.partition)
        else:
            where = (topic, turn % count if key is None else partition_for(key, count))
        group = groups.get(where)
        if group is None:
            groups[where] = [out]
        else:
            group.append(out)
    return groups


def _fill(builder: Any, outputs: list[Output], start: int, stop: int, timestamp_ms: int) -> int:
    """Append ``outputs[start:stop]`` to ``builder`` until it is full; the index after the last.

    An empty builder takes any first record, so a call always makes progress.
    """
    append = builder.append
    for i in range(start, stop):
        out = outputs[i]
        added = append(timestamp=timestamp_ms, key=out.key, value=out.value, headers=out.headers)
        if added is None:  # full (and closed): the caller submits it and starts another
            return i
    return stop


async def enqueue(
    producer: AIOKafkaProducer, outputs: Sequence[Output], *, singly: bool = False
) -> list[Delivery]:
    """Hand ``outputs`` to the producer as Kafka batches (``singly``: one record each), in
    order per partition.

    Returns one :class:`Delivery` per batch; a batch that could not be submitted, and every
    one after it, carries the error instead of a future (nothing is raised).
    """
    try:
        counts = {t: len(await producer.partitions_for(t)) for t in {o.topic for o in outputs}}
    except KafkaError as exc:  # no metadata (Kafka down): everything waits
        return [Delivery(list(outputs), exc)]
    groups = list(group_by_partition(outputs, counts, next(_unkeyed_turns)).items())
    timestamp_ms = time.time_ns() // 1_000_000  # one per call: the records are that recent
    deliveries: list[Delivery] = []
    for n, ((topic, partition), group) in enumerate(groups):
        start = 0
        while start < len(group):
            builder = producer.create_batch()
            stop = start + 1 if singly else len(group)
            end = _fill(builder, group, start, stop, timestamp_ms)
            builder.close()  # a closed batch is sent at once, without lingering
            try:
                future = await producer.send_batch(builder, topic, partition=partition)
            except KafkaError as exc:  # the partition's queue did not drain: this and the rest wait
                deliveries.append(Delivery(group[start:], exc))
                deliveries += [Delivery(rest, exc) for _, rest in groups[n + 1 :]]
                return deliveries
            deliveries.append(Delivery(group[start:end], future))
            start = end
    return deliveries


async def _error_of(result: asyncio.Future[Any] | KafkaError) -> KafkaError | None:
    """Why a submitted batch is not in Kafka (None: it is)."""
    if isinstance(result, KafkaError):
        return result
    try:
        await result  # (no suspension once done: cheaper than one gather of all)
    except KafkaError as exc:
        return exc
    return None


async def settle(sink: Sink, deliveries: list[Delivery]) -> None:
    """Wait for the batches of :func:`enqueue`; send what failed again until Kafka has all.

    Kafka down or a leader moving is retried with capped backoff for as long as it takes:
    the role's input offsets wait meanwhile (backpressure, not loss). After Kafka refused a
    batch (a non-retriable broker error) the producer is renewed; a refused batch is sent
    again one record per batch, and a record refused on its own is replaced by its dead
    letter.
    """
    delay = 0.1
    while True:
        failed: list[Output] = []
        renew = isolate = False
        for delivery in deliveries:
            error = await _error_of(delivery.result)
            if error is None:
                continue
            refused = isinstance(error, _RECORD_REFUSED)
            if refused or (isinstance(error, BrokerResponseError) and not error.retriable):
                renew = True  # Kafka answered the batch with a refusal: a sequence gap now
            if refused and len(delivery.outputs) == 1:
                letter = sink.letter(delivery.outputs[0], error)
                failed += [letter] if letter is not None else []
                continue
            isolate = isolate or refused
            failed += delivery.outputs
        if renew:
            await sink.renew()
        if not failed:
            return
        log.warning("%s: %d records not in Kafka yet; retrying", sink.role, len(failed))
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_BACKOFF_S)
        deliveries = await enqueue(sink.producer, failed, singly=isolate)


async def send_all(sink: Sink, outputs: Sequence[Output]) -> None:
    """Produce every output in order; return once Kafka holds all of them."""
    await settle(sink, await enqueue(sink.producer, outputs))
