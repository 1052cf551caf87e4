"""The normalize role: ``logs.raw`` → ``logs.normalized`` (or ``logs.deadletter``).

A thin shell over :class:`processors.normalize_stage.NormalizeStage` on a
:class:`processors.batch.BatchRole`: a batch's outputs are produced (acks=all) before its
offsets count as done, and inputs inside an open CRI run stay uncommitted until the run
is joined and produced, so a crash redelivers them; the deterministic ``event.id`` makes
the redelivery harmless downstream. Stale partial runs are flushed on idle polls too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from aiokafka import AIOKafkaProducer

from bitacora.settings import Settings
from processors.batch import BatchRole, Record, new_producer, send_all
from processors.counters import COUNTERS
from processors.normalize_stage import NormalizeStage, Step

ROLE = "normalize"


class NormalizeHandler:
    """Normalizes batches and produces their records before they count as done."""

    def __init__(self, settings: Settings, producer: AIOKafkaProducer) -> None:
        self.stage: NormalizeStage[Record] = NormalizeStage(settings)
        self.producer = producer

    async def handle(self, records: list[Record]) -> None:
        """Normalize ``records`` (joined CRI runs included) and produce the results."""
        await self._deliver(self.stage.process([(r, r) for r in records], time.time_ns()))

    async def idle(self) -> None:
        """Emit partial CRI runs that went stale while nothing arrived."""
        if len(self.stage):
            step: Step[Record] = Step()
            self.stage.flush(step, time.time_ns())
            await self._deliver(step)

    def held(self) -> Mapping[tuple[str, int], int]:
        """Inputs inside open CRI runs: not committed yet."""
        return self.stage.held()

    async def _deliver(self, step: Step[Record]) -> None:
        if step.outputs:
            await send_all(self.producer, step.outputs, ROLE)
        COUNTERS.add(ROLE, "events", "ok", len(step.done))


class NormalizeRole(BatchRole):
    """The normalize consumer group and its producer."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            name=ROLE,
            topics=[settings.topic_raw],
            max_records=settings.bulk_max_docs,
            within_s=0.05,
        )

    async def open_handler(self) -> NormalizeHandler:
        """Start the producer: the first batch may arrive right after the subscription."""
        self.producer = new_producer(self.settings, ROLE)
        await self.producer.start()
        return NormalizeHandler(self.settings, self.producer)

    async def close_handler(self) -> None:
        """Flush and close the producer."""
        await self.producer.stop()
