"""The index role: ``logs.normalized`` → ``logs-*``, ``logs.deadletter`` → its index.

A thin shell over :class:`processors.storage.indexer.BulkIndexer` on a
:class:`processors.shell.batch.BatchRole`: a batch (bounded by count and time) counts as done
only after the bulk succeeded. The indexer retries 429/5xx and connection errors until
OpenSearch takes every item; items OpenSearch rejects for good (mapping conflicts) are
dead-lettered first. A crash or a stop mid-batch leaves it uncommitted, so it is read
again, and ``op_type=create`` with the deterministic ``_id`` turns the replay into 409s,
which count as done.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from functools import lru_cache

from bitacora import bundles, schema
from bitacora.deadletter import deadletter_record
from bitacora.processors.normalize import to_json_bytes
from bitacora.processors.normalize.stage import ID_HEADER, Output
from bitacora.processors.shell.batch import BatchRole, Held, Record
from bitacora.processors.shell.counters import COUNTERS, role_counters
from bitacora.processors.shell.produce import Sink, send_all
from bitacora.processors.storage.bulk import BadBundle, bundle_problem, parse_bulk_body
from bitacora.processors.storage.indexer import BulkIndexer
from bitacora.settings import Settings

ROLE = "index"
BAD_BUNDLE = "bad_bundle"  # the dead-letter reason of a record that is not a bundle


@lru_cache(maxsize=4096)
def _stream_for_key(key: bytes) -> str:
    return schema.logs_stream_for(key.decode("utf-8", "replace"))


def _event_id(record: Record) -> str:
    """The ``event.id`` of a one-document record (else a position-based id)."""
    for name, value in record.headers:
        if name == ID_HEADER:
            return bytes(value).decode()
    return f"k-{record.partition}-{record.offset}"


def _origins(records: list[Record], ids: set[str]) -> dict[str, Record]:
    """The bundle that holds each of ``ids`` (parsed only when OpenSearch refused some)."""
    found: dict[str, Record] = {}
    for record in records:
        try:
            docs = parse_bulk_body(record.value)
        except BadBundle:  # dead-lettered whole (IndexResult.broken)
            continue
        for doc in docs:
            if doc.id in ids:
                found[doc.id] = record
    return found


class IndexHandler:
    """Bulk-indexes a batch of normalized events and dead letters."""

    def __init__(self, settings: Settings, indexer: BulkIndexer, sink: Sink):
        self.indexer = indexer
        self.sink = sink
        self.deadletter_topic = settings.topic_deadletter
        self.events_out = role_counters(ROLE).events_out

    async def submit(self, records: list[Record]) -> Awaitable[None] | None:
        """Start the bulk of ``records`` (None when there are none)."""
        return self._index(records) if records else None

    async def _index(self, records: list[Record]) -> None:
        """Index every record; dead-letter the events OpenSearch refuses for good."""
        docs: list[tuple[str, str, bytes]] = []
        bodies: list[tuple[bytes, int]] = []
        bundled: list[Record] = []
        events: dict[str, Record] = {}
        letters: list[Output] = []
        deadletters = 0
        for record in records:
            if record.topic == self.deadletter_topic:
                where = f"{record.topic}:{record.partition}:{record.offset}"
                docs.append((schema.DEADLETTER_STREAM, where, record.value))
                deadletters += 1
            elif (count := bundles.events_in(record.headers)) is not None:
                problem = bundle_problem(record.value, count)
                if problem is not None:
                    letters.append(self._broken(record, problem))
                    continue
                bodies.append((record.value, count))
                bundled.append(record)
            else:  # one document, as records were before bundles
                doc_id = _event_id(record)
                events[doc_id] = record
                docs.append((_stream_for_key(record.key or b"unknown"), doc_id, record.value))
        result = await self.indexer.index(docs, bodies)
        unknown = {
            doc.id
            for doc, _ in result.rejected
            if doc.stream != schema.DEADLETTER_STREAM and doc.id not in events
        }
        if unknown:
            events.update(_origins(bundled, unknown))
        # Bundles that are not bulk lines: dead-lettered whole (what OpenSearch may have
        # taken of one stays; the letter keeps the record for an operator to look at).
        lost = 0
        if result.broken:
            by_value = {id(record.value): record for record in bundled}
            for value in result.broken:
                record = by_value[id(value)]
                letters.append(self._broken(record, "lines are not create actions"))
                lost += bundles.events_in(record.headers) or 1
        for (index, doc_id, source), reason in result.rejected:
            if index == schema.DEADLETTER_STREAM:
                # A dead letter OpenSearch refuses stays in the logs.deadletter topic.
                COUNTERS.add("index-deadletter", "rejected", reason.split(":", 1)[0])
                continue
            COUNTERS.add(ROLE, "deadletter", reason.split(":", 1)[0])
            letters.append(self._deadletter(events[doc_id], doc_id, source, reason))
            lost += 1
        if letters:
            await send_all(self.sink, letters)
        total = len(docs) - deadletters + sum(count for _, count in bodies)
        self.events_out.inc(total - lost)

    def _broken(self, record: Record, problem: str) -> Output:
        """The dead letter of a whole logs.normalized record that is not a bundle."""
        COUNTERS.add(ROLE, "deadletter", BAD_BUNDLE)
        return self._deadletter(record, None, record.value, f"{BAD_BUNDLE}: {problem}")

    def _deadletter(self, record: Record, doc_id: str | None, source: bytes, reason: str) -> Output:
        letter = deadletter_record(
            stage="index",
            reason=reason,
            original=source,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            dataset=None,
            now_ns=time.time_ns(),
            event_id=doc_id,
            redact=self.sink.redact,
        )
        key = doc_id.encode() if doc_id is not None else record.key
        return Output(self.deadletter_topic, key, to_json_bytes(letter))

    def held(self) -> Held:
        """Nothing is held across batches."""
        return {}


class IndexRole(BatchRole):
    """The index consumer group with its indexer and dead-letter producer."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            name=ROLE,
            topics=[settings.topic_normalized, settings.topic_deadletter],
            max_records=settings.bulk_max_docs,
            within_s=settings.bulk_max_wait_s,
            weigh=bundles.weight,
        )

    async def open_handler(self) -> IndexHandler:
        """Start the producer and the indexer (its HTTP session opens on first use)."""
        self.sink = Sink(self.settings, ROLE)
        await self.sink.start()
        self.indexer = BulkIndexer.from_settings(self.settings)
        return IndexHandler(self.settings, self.indexer, self.sink)

    async def readiness_async(self) -> str | None:
        """Joined with partitions, and OpenSearch answers."""
        problem = self.readiness()
        if problem is None and hasattr(self, "indexer"):
            problem = await self.indexer.reachable()
        return problem

    async def close_handler(self) -> None:
        """Close the producer and the HTTP session."""
        await self.sink.stop()
        await self.indexer.close()
