"""The normalize agent: ``logs.raw`` → ``logs.normalized`` (or ``logs.deadletter``).

A thin shell over :func:`processors.normalize.normalize`. Events are taken in batches
without automatic acks; a batch's raw records are acknowledged only after Kafka holds every
normalized or dead-letter record produced from them, so a crash or a cancel redelivers the
batch and the deterministic ``event.id`` makes the redelivery harmless downstream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

import faust

from bitacora import rawrecord
from bitacora.errors import DecodeError
from bitacora.settings import Settings
from processors.app import raw_topic
from processors.counters import COUNTERS
from processors.normalize import NormalizeConfig, normalize, to_json_bytes
from processors.storage.deadletter import deadletter_record, redactor_for

log = logging.getLogger(__name__)

ID_HEADER = "id"


def register_normalize(app: faust.App, settings: Settings) -> None:
    """Attach the normalize agent to ``app``."""
    source = raw_topic(app, settings.topic_raw)
    config = NormalizeConfig.from_settings(settings)
    normalized_name = settings.topic_normalized
    deadletter_name = settings.topic_deadletter
    batch_size = settings.bulk_max_docs
    redact = redactor_for(settings)

    @app.agent(source, name="normalize")
    async def normalize_agent(stream: Any) -> None:
        async for events in stream.noack_take(batch_size, within=0.05):
            pending: list[Awaitable[Any]] = []
            producer = app.producer
            for event in events:
                message = event.message
                try:
                    raw = rawrecord.decode(message.value)
                    doc = normalize(raw, message.partition, message.offset, config)
                except DecodeError as exc:
                    COUNTERS.add("normalize", "deadletter", str(exc).split(":", 1)[0])
                    record = deadletter_record(
                        stage="normalize",
                        reason=str(exc),
                        original=message.value,
                        topic=message.topic,
                        partition=message.partition,
                        offset=message.offset,
                        dataset=None,
                        now_ns=time.time_ns(),
                        redact=redact,
                    )
                    pending.append(
                        await producer.send(
                            deadletter_name, message.key, to_json_bytes(record), None, None, None
                        )
                    )
                    continue
                key = doc["service.name"].encode()
                headers = [(ID_HEADER, doc["event.id"].encode())]
                pending.append(
                    await producer.send(
                        normalized_name, key, to_json_bytes(doc), None, None, headers
                    )
                )
            # Kafka must hold every output before the inputs are acknowledged.
            await asyncio.gather(*pending)
            for event in events:
                await stream.ack(event)
            COUNTERS.add("normalize", "events", "ok", len(events))
