"""The index agents: ``logs.normalized`` → ``logs-*``, ``logs.deadletter`` → its index.

Batches are bounded by count and time (``noack_take``); a batch's offsets are acknowledged
only after the bulk succeeded: the indexer retries 429/5xx and connection errors until
OpenSearch takes every item, and items OpenSearch rejects for good (mapping conflicts) are
dead-lettered first. A crash or a cancel leaves the batch unacknowledged, so it is
redelivered, and ``op_type=create`` with the deterministic ``_id`` turns the replay into
409s, which count as done.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import faust

from bitacora import schema
from bitacora.settings import Settings
from processors.app import raw_topic
from processors.counters import COUNTERS
from processors.normalize import to_json_bytes
from processors.normalize_stage import ID_HEADER
from processors.storage.deadletter import deadletter_record, redactor_for
from processors.storage.indexer import BulkIndexer


@lru_cache(maxsize=4096)
def _stream_for_key(key: bytes) -> str:
    return schema.logs_stream_for(key.decode("utf-8", "replace"))


def _header(event: Any, name: str) -> bytes | None:
    for key, value in event.message.headers or ():
        if key == name:
            return bytes(value)
    return None


def register_index(app: faust.App, settings: Settings, indexer: BulkIndexer) -> None:
    """Attach the log and dead-letter index agents to ``app``."""
    normalized = raw_topic(app, settings.topic_normalized)
    deadletters = raw_topic(app, settings.topic_deadletter)
    deadletter_name = settings.topic_deadletter
    redact = redactor_for(settings)

    @app.agent(normalized, name="index")
    async def index_agent(stream: Any) -> None:
        async for events in stream.noack_take(
            settings.bulk_max_docs, within=settings.bulk_max_wait_s
        ):
            items = []
            for event in events:
                message = event.message
                event_id = _header(event, ID_HEADER)
                items.append(
                    (
                        _stream_for_key(message.key or b"unknown"),
                        event_id.decode()
                        if event_id
                        else f"k-{message.partition}-{message.offset}",
                        message.value,
                    )
                )
            result = await indexer.index(items)
            if result.rejected:
                where = {item[1]: event.message for item, event in zip(items, events, strict=True)}
                pending = []
                for (_index, doc_id, source), reason in result.rejected:
                    COUNTERS.add("index", "deadletter", reason.split(":", 1)[0])
                    message = where[doc_id]
                    record = deadletter_record(
                        stage="index",
                        reason=reason,
                        original=source,
                        topic=message.topic,
                        partition=message.partition,
                        offset=message.offset,
                        dataset=None,
                        now_ns=time.time_ns(),
                        event_id=doc_id,
                        redact=redact,
                    )
                    pending.append(
                        await app.producer.send(
                            deadletter_name,
                            doc_id.encode(),
                            to_json_bytes(record),
                            None,
                            None,
                            None,
                        )
                    )
                for future in pending:
                    await future
            for event in events:
                await stream.ack(event)
            COUNTERS.add("index", "indexed", "ok", len(items) - len(result.rejected))

    @app.agent(deadletters, name="index-deadletter")
    async def deadletter_agent(stream: Any) -> None:
        async for events in stream.noack_take(
            settings.bulk_max_docs, within=settings.bulk_max_wait_s
        ):
            items = [
                (
                    schema.DEADLETTER_STREAM,
                    f"{event.message.topic}:{event.message.partition}:{event.message.offset}",
                    event.message.value,
                )
                for event in events
            ]
            result = await indexer.index(items)
            for _item, reason in result.rejected:
                # A dead letter OpenSearch refuses stays in the logs.deadletter topic.
                COUNTERS.add("index-deadletter", "rejected", reason.split(":", 1)[0])
            for event in events:
                await stream.ack(event)
