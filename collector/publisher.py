"""The Kafka side of the collector: an idempotent ``acks=all`` producer.

``submit`` hands the records of one request to the producer in order (so a service's
events keep their order on its partition), joined per service into bundles
(:mod:`bitacora.bundles`: Kafka's per-record cost paid once per bundle, not per event),
and returns a future that resolves only when Kafka acknowledged every one of them, dead
letters included; sources acknowledge their clients only then. When Kafka is unreachable
the publisher says so at once (``KafkaUnavailable``) so forward connections close without
an ack and HTTP answers 503, while it keeps reconnecting in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from bitacora import bundles, clients
from bitacora.collector.metrics import CollectorMetrics
from bitacora.collector.records import bundle
from bitacora.errors import BitacoraError
from bitacora.partitions import partition_for
from bitacora.settings import Settings

log = logging.getLogger(__name__)

_RECONNECT_S = 1.0
_STOP_FLUSH_S = 10.0
_METADATA_S = 10.0  # a topic Kafka does not know: answer 503 / close, do not hang
_RETIRE_S = 5.0  # to let a failed producer go
BATCH_FROM = 16  # records of one request for one partition: built into batches from here
Bundle = tuple[bytes, bytes, int]  # key, value, events (collector.records.bundle)


class KafkaUnavailable(BitacoraError):
    """Kafka cannot take records now: withhold the ack (forward) or answer 503 (HTTP)."""

    can_continue = True


@dataclass(slots=True)
class Delivery:
    """The pending Kafka acknowledgements of one request's records."""

    futures: list[asyncio.Future[Any]]
    started: float  # perf_counter when handed to the producer, for the latency histogram
    producer: Any = None  # the producer that took them (replaced after a failure)


def _retrieve(fut: asyncio.Future[Any]) -> None:
    """Mark a future's exception as seen (its request already failed as a whole)."""
    if not fut.cancelled():
        fut.exception()


def _by_partition(records: Sequence[Bundle], count: int) -> dict[int, list[Bundle]]:
    """``records`` per Kafka default partition of their key, each group in order."""
    groups: dict[int, list[Bundle]] = {}
    for record in records:
        partition = partition_for(record[0], count)
        group = groups.get(partition)
        if group is None:
            groups[partition] = [record]
        else:
            group.append(record)
    return groups


class Publisher:
    """Owns the producer; safe to share between every source of one event loop."""

    def __init__(self, settings: Settings, metrics: CollectorMetrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._producer: AIOKafkaProducer | None = None
        self._connector: asyncio.Task[None] | None = None
        self._closing = False
        self._locks: dict[int, asyncio.Lock] = {}

    @property
    def record_limit(self) -> int:
        """The largest record value sent to Kafka (``Settings.kafka_record_limit``)."""
        return self._settings.kafka_record_limit

    @property
    def ready(self) -> bool:
        """True once the producer is connected (it may still fail a later request)."""
        return self._producer is not None and not self._closing

    def _new_producer(self) -> AIOKafkaProducer:
        s = self._settings
        return clients.kafka_producer(
            s,
            client_id="bitacora-collector",
            acks="all",
            enable_idempotence=True,
            linger_ms=s.kafka_linger_ms,
            max_batch_size=s.kafka_max_batch_bytes,
            max_request_size=s.kafka_max_batch_bytes + 65536,
            request_timeout_ms=30_000,
        )

    async def start(self) -> None:
        """Connect now if Kafka answers, else keep trying in the background.

        Raises ConnectionRefusedByPeer (fatal) when Kafka refuses the credentials or its
        certificate is not trusted: retrying would never connect.
        """
        with contextlib.suppress(KafkaConnectionError):  # Kafka down: the loop below waits
            await clients.kafka_preflight(self._settings)
        if not await self._try_connect():
            self._connector = asyncio.create_task(self._reconnect_loop())

    async def _try_connect(self) -> bool:
        producer = self._new_producer()
        try:
            await producer.start()
        except Exception as exc:  # aiokafka raises several types for an absent broker
            log.warning("Kafka at %s not reachable yet: %s", self._settings.kafka_bootstrap, exc)
            with contextlib.suppress(Exception):
                await producer.stop()
            return False
        if self._closing:  # stop() came while we were connecting
            await producer.stop()
            return True
        self._producer = producer
        log.info("connected to Kafka at %s", self._settings.kafka_bootstrap)
        return True

    def _replace(self, producer: AIOKafkaProducer, why: object) -> None:
        """Drop a producer that failed a request and connect a fresh one in the background.

        After an outage an idempotent producer can be left with sequence numbers the broker
        no longer accepts (OutOfOrderSequenceNumber on every later request); a new producer
        gets a new producer id. Until it is connected, ``submit`` says KafkaUnavailable.
        """
        if self._producer is not producer or self._closing:
            return  # already replaced
        log.warning("replacing the Kafka producer after a failure: %s", why)
        self._producer = None
        old = self._connector
        self._connector = asyncio.create_task(self._retire_and_reconnect(producer, old))

    async def _retire_and_reconnect(
        self, producer: AIOKafkaProducer, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None and not previous.done():
            previous.cancel()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_RETIRE_S):
                await producer.stop()
        await self._reconnect_loop()

    async def _reconnect_loop(self) -> None:
        while not self._closing and not await self._try_connect():  # noqa: ASYNC110 (polls Kafka, not a flag)
            await asyncio.sleep(_RECONNECT_S)

    async def _partitions(self, producer: AIOKafkaProducer, topic: str) -> int:
        # The client's cached metadata answers without a round trip (refreshed by aiokafka
        # every metadata_max_age_ms); ask the cluster only the first time.
        parts = producer.client.cluster.partitions_for_topic(topic)
        if parts:
            return len(parts)
        try:
            async with asyncio.timeout(_METADATA_S):
                parts = await producer.partitions_for(topic)
        except Exception as exc:  # timeout or a metadata error: Kafka cannot take it
            raise KafkaUnavailable(f"no metadata for topic {topic}: {exc}") from exc
        return len(parts)

    async def _hand_over(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        partition: int,
        group: list[Bundle],
        futures: list[asyncio.Future[Any]],
    ) -> None:
        """Give one partition's records (bundles) of a request to the producer, in order,
        adding their delivery futures to ``futures`` as they are submitted.

        ``send`` costs several µs a record in Python (a future and the accumulator's
        bookkeeping each); a group of at least ``BATCH_FROM`` records is appended to batch
        builders instead (one future per Kafka batch, a full builder submitted and the next
        one started): with bundles that is a request holding many services, or one too large
        for a few records. Smaller groups (most, one bundle per service) go through
        ``send``, where lingering joins the records of several small requests into one
        batch. aiokafka queues one submitted builder per partition, and its wait for that
        slot shrinks faster than time passes when several requests wait at once
        (``add_batch`` subtracts the total elapsed time on every wake-up), so requests take
        turns per partition here.
        """
        if len(group) < BATCH_FROM:
            for key, value, events in group:
                headers = bundles.header(events)
                futures.append(
                    await producer.send(topic, value, key=key, partition=partition, headers=headers)
                )
            return
        lock = self._locks.get(partition)
        if lock is None:
            lock = self._locks[partition] = asyncio.Lock()
        async with lock:
            timestamp_ms = time.time_ns() // 1_000_000
            start = 0
            while start < len(group):
                builder = producer.create_batch()
                append = builder.append
                for key, value, events in group[start:]:
                    headers = bundles.header(events)
                    if (
                        append(timestamp=timestamp_ms, key=key, value=value, headers=headers)
                        is None
                    ):
                        break  # full (an empty builder takes any first record: start moves)
                    start += 1
                builder.close()  # sent at once: the request waits for it
                futures.append(await producer.send_batch(builder, topic, partition=partition))

    async def submit(
        self, records: Sequence[tuple[bytes, bytes]], deadletters: Sequence[bytes] = ()
    ) -> Delivery:
        """Hand ``records`` (key, value), bundled per key, and ``deadletters`` to Kafka, in order.

        Returns the Delivery to pass to ``delivered``. Raises KafkaUnavailable at once when
        not connected or when the producer refuses the records.
        """
        producer = self._producer
        if producer is None or self._closing:
            raise KafkaUnavailable(f"Kafka at {self._settings.kafka_bootstrap} is not reachable")
        topic = self._settings.topic_raw
        delivery = Delivery([], time.perf_counter(), producer)
        futures = delivery.futures
        try:
            if records:
                count = await self._partitions(producer, topic)
                joined = bundle(records, self.record_limit)
                for partition, group in _by_partition(joined, count).items():
                    await self._hand_over(producer, topic, partition, group, futures)
            for letter in deadletters:
                futures.append(await producer.send(self._settings.topic_deadletter, letter))
        except KafkaUnavailable:
            raise
        except Exception as exc:  # buffer full for too long, producer closed, ...
            for fut in futures:
                fut.add_done_callback(_retrieve)
            self._replace(producer, exc)
            raise KafkaUnavailable(f"Kafka did not take the records: {exc}") from exc
        return delivery

    async def delivered(self, delivery: Delivery) -> None:
        """Return once Kafka acknowledged every record of ``delivery``.

        Raises KafkaUnavailable when any of them failed (the whole request then counts as
        not delivered: the sender retries it, the processor's event ids absorb the repeat).
        """
        try:
            for fut in delivery.futures:  # already resolved ones return without yielding
                await fut
        except Exception as exc:  # any delivery failure fails the whole request
            for fut in delivery.futures:
                fut.add_done_callback(_retrieve)
            self._replace(delivery.producer, exc)
            raise KafkaUnavailable(f"Kafka did not acknowledge the records: {exc}") from exc
        self._metrics.produce_latency.observe(time.perf_counter() - delivery.started)

    async def publish(
        self, records: Sequence[tuple[bytes, bytes]], deadletters: Sequence[bytes] = ()
    ) -> None:
        """``submit`` and wait until Kafka holds everything."""
        await self.delivered(await self.submit(records, deadletters))

    async def healthy(self, timeout_s: float = 2.0) -> bool:
        """True when connected and the cluster answers a metadata request in time."""
        producer = self._producer
        if producer is None or self._closing:
            return False
        try:
            async with asyncio.timeout(timeout_s):
                await producer.client.fetch_all_metadata()
        except Exception:  # any failure means "not ready"
            return False
        return True

    async def stop(self) -> None:
        """Flush what was submitted and close the producer."""
        self._closing = True
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if self._producer is not None:
            producer, self._producer = self._producer, None
            # Bounded: with Kafka gone, flush would wait for every request timeout. What is
            # not flushed was not acknowledged either, so senders resend it.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_STOP_FLUSH_S):
                    await producer.flush()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_STOP_FLUSH_S):
                    await producer.stop()
