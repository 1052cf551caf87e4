"""Batched Kafka consumption: the shell of the normalize and index roles.

faust hands an agent one event at a time through its conductor, stream and event objects;
for a stage that only maps a batch of records to another batch (normalize) or to one bulk
request (index) that machinery was most of the processor's CPU (measured with py-spy,
docs/processor.md). These roles therefore read with aiokafka's ``getmany`` directly, as a
``mode`` service inside the same worker that runs the faust app of the alerting role.

The contract is faust's at-least-once one, made explicit:

- a batch is submitted to the handler, which does its synchronous part at once (in order)
  and returns what completes once Kafka or OpenSearch holds the batch's outputs; up to
  ``depth`` batches are in flight, so with the default of two the next batch is read and
  worked on while the last one's I/O is under way;
- offsets count as done only when a batch and every batch before it completed, and never
  past what the handler still holds (inputs inside open CRI runs), as of that batch;
- on a revoke, every batch in flight completes and is committed before the partitions go;
  a crash or a stop commits nothing of a batch that did not complete, so it is read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from mode import Service

from bitacora import clients, schema
from bitacora.processors.shell.counters import LAG, role_counters
from bitacora.settings import Settings

log = logging.getLogger("bitacora.processor")

Record = Any  # aiokafka.ConsumerRecord[bytes, bytes] (not generic at runtime)
Held = Mapping[tuple[str, int], int]


class BatchHandler(Protocol):
    """What a batched role does with its records."""

    async def submit(self, records: list[Record]) -> Awaitable[None] | None:
        """Start on ``records`` (none when a poll came back empty: time for timers).

        Returns what completes once their outputs are stored, or None when nothing is
        left to wait for.
        """

    def held(self) -> Held:
        """The lowest offset per (topic, partition) submitted but not done yet."""


@dataclass(slots=True)
class _InFlight:
    after: dict[TopicPartition, int]  # next offset per partition once this batch is done
    held: Held  # the handler's holds right after this batch was submitted
    done: asyncio.Future[None] | None


class BatchRole(Service):
    """One consumer group (``<app id>-<name>``) reading ``topics`` in batches.

    Subclasses open their handler (and its clients) in :meth:`open_handler`: aiokafka and
    aiohttp clients must be created inside the running event loop.
    """

    stop_grace_s = 5.0

    def __init__(
        self,
        settings: Settings,
        *,
        name: str,
        topics: Sequence[str],
        max_records: int,
        within_s: float,
        weigh: Callable[[list[Record]], int] = len,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.role_name = name
        self.topics = list(topics)
        self.max_records = max_records  # in events: ``weigh`` counts a batch's records
        self.within_s = within_s
        self.weigh = weigh
        # Events per record in the last records read; until then, as if a record could
        # fill a batch (the first read asks for one record).
        self._per_record = float(max_records)
        self.depth = settings.processor_batches_in_flight
        self._lock = asyncio.Lock()
        self._inflight: deque[_InFlight] = deque()
        self._next: dict[TopicPartition, int] = {}  # next offset after what is done
        self._held: Held = {}
        self._committed: dict[TopicPartition, int] = {}
        self._running: asyncio.Future[None] | None = None
        self.counts = role_counters(name)
        self._opened = False  # open_handler returned: close_handler has clients to close
        self._joined = False  # the consumer started: on_stop has a group to leave

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
        self._opened = True
        self.consumer = clients.kafka_consumer(
            self.settings,
            group_id=schema.consumer_group(self.settings.app_id, self.role_name),
            client_id=f"bitacora-{self.role_name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await self.consumer.start()
        self._joined = True
        self.consumer.subscribe(self.topics, listener=_Rebalance(self))
        LAG.add(id(self), self.lag)
        self._running = self.add_future(self._run())

    def readiness(self) -> str | None:
        """None when the consumer joined its group with partitions; else what is missing."""
        consumer = getattr(self, "consumer", None)
        if consumer is None or not consumer.assignment():
            return f"{self.role_name}: no partitions assigned yet"
        return None

    async def readiness_async(self) -> str | None:
        """:meth:`readiness` as a check of the HTTP service (roles may add their own)."""
        return self.readiness()

    def lag(self) -> list[tuple[str, str, int, int]]:
        """(role, topic, partition, lag) of each owned partition whose high watermark is known."""
        rows = []
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            done = self._next.get(tp, self._committed.get(tp))
            if high is not None and done is not None:
                rows.append((self.role_name, tp.topic, tp.partition, max(0, high - done)))
        return rows

    async def on_stop(self) -> None:
        """Commit what completed, leave the group, then close the handler's clients.

        Batches in flight get ``stop_grace_s`` to complete (fewer repeats after a restart);
        what is still running then (OpenSearch or Kafka down) is cancelled and stays
        uncommitted. A role whose start failed closes only what it opened.
        """
        if not self._joined:
            if self._opened:
                await self.close_handler()
            return
        if self._running is not None:
            self._running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._running
        async with self._lock:
            running = [b.done for b in self._inflight if b.done is not None]
            if running:
                await asyncio.wait(running, timeout=self.stop_grace_s)
            for future in running:
                future.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._settle(everything=True)
            self._inflight.clear()
            await self._commit()
        LAG.remove(id(self))
        await self.consumer.stop()
        await self.close_handler()

    async def _run(self) -> None:
        try:
            while not self.should_stop:
                batch, events = await self._take()
                async with self._lock:
                    records = [r for rs in batch.values() for r in rs]
                    self.counts.events_in.inc(events)
                    done = await self.handler.submit(records)
                    self._inflight.append(
                        _InFlight(
                            {tp: rs[-1].offset + 1 for tp, rs in batch.items()},
                            dict(self.handler.held()),
                            None if done is None else asyncio.ensure_future(done),
                        )
                    )
                    await self._settle(everything=False)
                    await self._commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: stop the worker so it is restarted, loudly
            log.exception("%s stopped", self.role_name)
            await self.crash(exc)

    async def _take(self) -> tuple[dict[TopicPartition, list[Record]], int]:
        """Up to ``max_records`` events, waiting at most ``within_s`` for the batch to fill.

        With records of many events (bundles) each read asks for as many records as the
        events left would fill at the events per record of the last records read, so a
        batch passes ``max_records`` by about one record's events. Returns the batch and
        its events.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.within_s
        batch: dict[TopicPartition, list[Record]] = {}
        count = 0
        while count < self.max_records and not self.should_stop:
            remaining = deadline - loop.time()
            wanted = max(1, int((self.max_records - count) / self._per_record))
            got = await self.consumer.getmany(
                timeout_ms=max(0, int(remaining * 1000)), max_records=wanted
            )
            read = events = 0
            for tp, records in got.items():
                batch.setdefault(tp, []).extend(records)
                read += len(records)
                events += self.weigh(records)
            if read:
                self._per_record = events / read
                count += events
            if remaining <= 0:
                break
        return batch, count

    async def _settle(self, *, everything: bool) -> None:
        """Retire completed batches in order; wait for the oldest while ``depth`` are in flight.

        A cancelled batch stops the retiring: it and what follows stay uncommitted.
        """
        while self._inflight:
            head = self._inflight[0]
            if head.done is not None:
                if not head.done.done() and not everything and len(self._inflight) < self.depth:
                    return
                await head.done  # a handler's bug propagates
            self._inflight.popleft()
            self._next.update(head.after)
            self._held = head.held

    async def _commit(self) -> None:
        """Commit, per owned partition, the offset before anything not done."""
        owned = self.consumer.assignment()
        offsets = {}
        for tp, after in self._next.items():
            position = min(after, self._held.get(tp, after))
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

    async def on_revoke(self, partitions: set[TopicPartition]) -> None:
        """Finish and commit every batch in flight, then forget the partitions that go."""
        async with self._lock:
            await self._settle(everything=True)
            await self._commit()
            for tp in partitions:
                self._next.pop(tp, None)
                self._committed.pop(tp, None)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # untyped base
    def __init__(self, role: BatchRole) -> None:
        self.role = role

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.role.on_revoke(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Nothing to do: reading resumes at the committed offsets."""
