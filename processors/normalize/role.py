"""The normalize role: ``logs.raw`` → ``logs.normalized`` (or ``logs.deadletter``).

A thin shell over :class:`processors.normalize.stage.NormalizeStage` on a
:class:`processors.shell.batch.BatchRole`: a batch's outputs are produced (acks=all) before its
offsets count as done, and inputs inside an open CRI run stay uncommitted until the run
is joined and produced, so a crash redelivers them; the deterministic ``event.id`` makes
the redelivery harmless downstream. Outputs are handed to the producer in input order
before the next batch is read (the producer keeps that order per partition); stale
partial runs are flushed on every poll, empty ones included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable

from bitacora import bundles
from bitacora.compiled import pure_modules
from bitacora.processors.normalize.stage import NormalizeStage
from bitacora.processors.shell.batch import BatchRole, Held, Record
from bitacora.processors.shell.counters import role_counters
from bitacora.processors.shell.produce import Sink, enqueue, settle
from bitacora.settings import Settings

ROLE = "normalize"
log = logging.getLogger("bitacora.processor")


class NormalizeHandler:
    """Normalizes batches and produces their records before they count as done."""

    def __init__(self, settings: Settings, sink: Sink) -> None:
        self.stage: NormalizeStage[Record] = NormalizeStage(settings)
        self.sink = sink
        self.events_out = role_counters(ROLE).events_out

    async def submit(self, records: list[Record]) -> Awaitable[None] | None:
        """Normalize ``records`` (stale CRI runs flushed too) and hand the results to Kafka."""
        step = self.stage.process([(r, r) for r in records], time.time_ns())
        self.events_out.inc(step.events)
        if not step.outputs:
            return None
        return settle(self.sink, await enqueue(self.sink.producer, step.outputs))

    def held(self) -> Held:
        """Inputs inside open CRI runs: not committed yet."""
        return self.stage.held()


class NormalizeRole(BatchRole):
    """The normalize consumer group and its producer."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            name=ROLE,
            topics=[settings.topic_raw],
            max_records=settings.bulk_max_docs,
            within_s=0.05,
            weigh=bundles.weight,
        )

    async def open_handler(self) -> NormalizeHandler:
        """Start the producer: the first batch may arrive right after the subscription."""
        pure = pure_modules()
        if pure:
            log.warning(
                "the normalizer runs as plain Python (%d modules not compiled, e.g. %s), which"
                " costs more CPU per event: reinstall without BITACORA_PURE_PYTHON, with a C"
                " compiler at hand, to compile it",
                len(pure),
                pure[0],
            )
        self.sink = Sink(self.settings, ROLE)
        await self.sink.start()
        return NormalizeHandler(self.settings, self.sink)

    async def close_handler(self) -> None:
        """Flush and close the producer."""
        await self.sink.stop()
