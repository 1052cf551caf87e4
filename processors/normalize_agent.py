"""The normalize agent: ``logs.raw`` → ``logs.normalized`` (or ``logs.deadletter``).

A thin shell over :class:`processors.normalize_stage.NormalizeStage`. Events are taken in
batches without automatic acks; an input is acknowledged only after Kafka holds every
record made from it, so a crash or a cancel redelivers it and the deterministic
``event.id`` makes the redelivery harmless downstream. A timer flushes partial CRI runs
that went stale while no new events arrived.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust

from bitacora.settings import Settings
from processors.app import raw_topic
from processors.counters import COUNTERS
from processors.normalize_stage import NormalizeStage, Step


def register_normalize(app: faust.App, settings: Settings) -> None:
    """Attach the normalize agent (and its stale-run timer) to ``app``."""
    source = raw_topic(app, settings.topic_raw)
    stage: NormalizeStage[Any] = NormalizeStage(settings)

    async def deliver(step: Step[Any]) -> None:
        producer = app.producer
        sent = [
            await producer.send(out.topic, out.key, out.value, None, None, out.headers)
            for out in step.outputs
        ]
        # Kafka must hold every output before its inputs are acknowledged.
        await asyncio.gather(*sent)
        for event in step.done:
            event.ack()
        COUNTERS.add("normalize", "events", "ok", len(step.done))

    @app.agent(source, name="normalize")
    async def normalize_agent(stream: Any) -> None:
        async for events in stream.noack_take(settings.bulk_max_docs, within=0.05):
            await deliver(stage.process([(e, e.message) for e in events], time.time_ns()))

    @app.timer(1.0, name="normalize-flush")  # type: ignore[untyped-decorator]
    async def flush_stale_runs() -> None:
        if len(stage):
            step: Step[Any] = Step()
            stage.flush(step, time.time_ns())
            await deliver(step)
