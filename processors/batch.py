"""Batched Kafka consumption: the shell of the normalize and index roles.

faust hands an agent one event at a time through its conductor, stream and event objects;
for a stage that only maps a batch of records to another batch (normalize) or to one bulk
request (index) that machinery was most of the processor's CPU (measured with py-spy,
docs/processor.md). These roles therefore read with aiokafka's ``getmany`` directly, as a
``mode`` service inside the same worker that runs the faust app of the alerting role.

The contract is faust's at-least-once one, made explicit:

- a batch is handed to the handler, and its offsets count as done only once the handler
  returned (the handler returns only after Kafka or OpenSearch holds its outputs);
- the handler may hold inputs back (open CRI runs): the committed offset of a partition is
  never past the lowest offset it still holds;
- on a revoke, the finished work is committed before the partitions go; a crash or a stop
  mid-batch commits nothing of that batch, so it is read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from mode import Service

from bitacora import schema
from bitacora.settings import Settings
from processors.normalize_stage import Output

log = logging.getLogger("bitacora.processor")

Record = Any  # aiokafka.ConsumerRecord[bytes, bytes] (not generic at runtime)


class BatchHandler(Protocol):
    """What a batched role does with its records."""

    async def handle(self, records: list[Record]) -> None:
        """Process ``records``; return only once their outputs are safely stored."""

    async def idle(self) -> None:
        """Called when a poll brought nothing (timers: stale CRI runs)."""

    def held(self) -> Mapping[tuple[str, int], int]:
        """The lowest offset per (topic, partition) handled but not done yet."""


class BatchRole(Service):
    """One consumer group (``<app id>-<name>``) reading ``topics`` in batches.

    Subclasses open their handler (and its clients) in :meth:`open_handler`: aiokafka and
    aiohttp clients must be created inside the running event loop.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        name: str,
        topics: Sequence[str],
        max_records: int,
        within_s: float,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.role_name = name
        self.topics = list(topics)
        self.max_records = max_records
        self.within_s = within_s
        self._lock = asyncio.Lock()
        self._next: dict[TopicPartition, int] = {}  # next offset after what is handled
        self._committed: dict[TopicPartition, int] = {}
        self._running: asyncio.Future[None] | None = None

    async def open_handler(self) -> BatchHandler:
        """Create the role's clients and its handler."""
        raise NotImplementedError

    async def close_handler(self) -> None:
        """Flush and close what :meth:`open_handler` created."""

    @property
    def shortlabel(self) -> str:
        """The name mode uses in its logs."""
        return f"BatchRole[{self.role_name}]"

    async def on_start(self) -> None:
        """Open the handler, join the group; the consume loop runs as this service's future."""
        self.handler = await self.open_handler()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=schema.consumer_group(self.settings.app_id, self.role_name),
            client_id=f"bitacora-{self.role_name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await self.consumer.start()
        self.consumer.subscribe(self.topics, listener=_Rebalance(self))
        self._running = self.add_future(self._run())

    async def on_stop(self) -> None:
        """Commit what is done, leave the group, then close the handler's clients.

        A batch still in the handler is cancelled first and stays uncommitted.
        """
        if self._running is not None:
            self._running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._running
        async with self._lock:
            await self._commit()
        await self.consumer.stop()
        await self.close_handler()

    async def _run(self) -> None:
        try:
            while not self.should_stop:
                batch = await self._take()
                async with self._lock:
                    if batch:
                        await self.handler.handle([r for rs in batch.values() for r in rs])
                        for tp, records in batch.items():
                            self._next[tp] = records[-1].offset + 1
                    else:
                        await self.handler.idle()
                    await self._commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: stop the worker so it is restarted, loudly
            log.exception("%s stopped", self.role_name)
            await self.crash(exc)

    async def _take(self) -> dict[TopicPartition, list[Record]]:
        """Up to ``max_records``, waiting at most ``within_s`` for the batch to fill."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.within_s
        batch: dict[TopicPartition, list[Record]] = {}
        count = 0
        while count < self.max_records and not self.should_stop:
            remaining = deadline - loop.time()
            got = await self.consumer.getmany(
                timeout_ms=max(0, int(remaining * 1000)), max_records=self.max_records - count
            )
            for tp, records in got.items():
                batch.setdefault(tp, []).extend(records)
                count += len(records)
            if remaining <= 0:
                break
        return batch

    async def _commit(self) -> None:
        """Commit, per owned partition, the offset before anything handled but not done."""
        held = self.handler.held()
        owned = self.consumer.assignment()
        offsets = {}
        for tp, after in self._next.items():
            position = min(after, held.get(tp, after))
            if tp in owned and self._committed.get(tp) != position:
                offsets[tp] = position
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group moved the partitions on (e.g. this worker was too slow to poll):
            # their new owner reads from the last commit, so nothing is lost.
            log.warning("%s: commit refused (%s); the partitions' new owner resumes", self, exc)
        else:
            self._committed.update(offsets)

    def revoked(self, partitions: set[TopicPartition]) -> None:
        """Forget the positions of partitions that went to another worker."""
        for tp in partitions:
            self._next.pop(tp, None)
            self._committed.pop(tp, None)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # untyped base
    def __init__(self, role: BatchRole) -> None:
        self.role = role

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.role._lock:  # after the batch in hand is done
            await self.role._commit()
            self.role.revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Nothing to do: reading resumes at the committed offsets."""


def new_producer(settings: Settings, name: str) -> AIOKafkaProducer:
    """An idempotent ``acks=all`` producer for a role's outputs."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"bitacora-{name}",
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=settings.kafka_max_batch_bytes,
        max_request_size=settings.kafka_max_batch_bytes + 65536,
    )


async def send_all(producer: AIOKafkaProducer, outputs: Sequence[Output], role: str) -> None:
    """Produce every output; return once Kafka holds all of them.

    What Kafka refuses (it is down, a leader moved) is sent again with capped backoff for as
    long as it takes: the role's input offsets wait meanwhile (backpressure, not loss).
    """
    pending = list(outputs)
    delay = 0.1
    while pending:
        futures: list[asyncio.Future[Any]] = []
        try:
            for out in pending:
                futures.append(
                    await producer.send(out.topic, out.value, key=out.key, headers=out.headers)
                )
        except KafkaError as exc:
            log.warning("%s: Kafka refused a record (%s); retrying", role, exc)
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
        pending = [pending[i] for i in failed] + pending[len(futures) :]
        if pending:
            log.warning("%s: %d records not in Kafka yet; retrying", role, len(pending))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
