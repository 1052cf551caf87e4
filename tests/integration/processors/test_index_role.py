"""The index role on the real Kafka and OpenSearch: bundles in, documents and dead letters out."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.services import delete_topics
from bitacora import schema
from bitacora.bundles import EVENTS_HEADER
from bitacora.processors.index.role import IndexRole
from bitacora.processors.normalize.stage import ID_HEADER
from bitacora.processors.storage.bulk import Doc, build_bulk_body
from bitacora.settings import Settings
from tests.integration.processors.test_batch_role import until
from tests.integration.storage.osapi import call, count, ok
from tests.reliability.harness import read_topic


def event(service: str, name: str, **fields: object) -> bytes:
    doc = {
        "@timestamp": "2026-12-06T10:00:00.000000000Z",
        "event.id": name,
        "service.name": service,
        "message": name,
        **fields,
    }
    return json.dumps(doc).encode()


@dataclass
class IndexRun:
    settings: Settings
    stream: str
    service: str
    admin: AIOKafkaAdminClient
    producer: AIOKafkaProducer

    async def index_until_committed(self, offset: int) -> None:
        """Run the index role until its group committed ``offset`` on logs.normalized."""
        group = schema.consumer_group(self.settings.app_id, "index")

        async def committed() -> bool:
            offsets = await self.admin.list_consumer_group_offsets(group)
            done = {tp.topic: m.offset for tp, m in offsets.items()}
            return done.get(self.settings.topic_normalized) == offset

        role = IndexRole(self.settings)
        await role.start()
        try:
            await until(committed, f"the index group's commit at offset {offset}")
        finally:
            await role.stop()

    async def stored_ids(self) -> list[str]:
        """The ids of the documents in the test's data stream, sorted (after a refresh)."""
        url = self.settings.opensearch_url
        total = await count(url, self.stream)
        hits = await ok(url, "POST", f"/{self.stream}/_search", {"size": total})
        ids = sorted(h["_id"] for h in hits["hits"]["hits"])
        assert len(ids) == total
        return ids


@asynccontextmanager
async def index_run(settings: Settings) -> AsyncIterator[IndexRun]:
    """Fresh one-partition topics and a data stream for one test; removed afterwards."""
    rid = uuid.uuid4().hex[:10]
    service = f"idx-{rid}"
    stream = schema.logs_stream_for(service)
    run = settings.model_copy(
        update={
            "app_id": f"idx-{rid}",
            "topic_normalized": f"idx-{rid}.normalized",
            "topic_deadletter": f"idx-{rid}.deadletter",
            "topic_partitions": 1,
        }
    )
    topics = [run.topic_normalized, run.topic_deadletter]
    admin = AIOKafkaAdminClient(bootstrap_servers=run.kafka_bootstrap)
    await admin.start()
    producer = AIOKafkaProducer(bootstrap_servers=run.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await admin.create_topics([NewTopic(t, 1, 1) for t in topics])
        yield IndexRun(run, stream, service, admin, producer)
    finally:
        await producer.stop()
        await call(run.opensearch_url, "DELETE", f"/_data_stream/{stream}")
        await delete_topics(run.kafka_bootstrap, topics, run.app_id)
        await admin.close()


async def test_bundles_are_indexed_and_a_refused_event_is_dead_lettered_with_its_origin(
    settings: Settings,
) -> None:
    """One bundle with an event OpenSearch refuses (a mapping conflict) and one record from
    before bundles: every other event is indexed once, the refused one is dead-lettered
    with its id, the bundle's position and its source, and both records are committed."""
    async with index_run(settings) as it:
        run, stream, service = it.settings, it.stream, it.service
        bad = event(service, "bad", **{"http.response.status_code": "abc"})
        docs = [(stream, f"ok-{i}", event(service, f"ok-{i}")) for i in range(5)]
        docs.insert(2, (stream, "bad", bad))
        await it.producer.send_and_wait(
            run.topic_normalized,
            build_bulk_body(docs),
            key=service.encode(),
            headers=[(EVENTS_HEADER, b"6")],
        )
        await it.producer.send_and_wait(
            run.topic_normalized,
            event(service, "legacy"),
            key=service.encode(),
            headers=[(ID_HEADER, b"legacy")],
        )
        await it.index_until_committed(2)
        assert await it.stored_ids() == sorted(["legacy", *(f"ok-{i}" for i in range(5))])
        [(key, value)] = await read_topic(run.kafka_bootstrap, run.topic_deadletter)
        letter = json.loads(value)
        assert key == b"bad"
        assert letter["event"]["id"] == "bad"
        dead = letter["deadletter"]
        assert (dead["stage"], dead["topic"], dead["partition"], dead["offset"]) == (
            "index",
            run.topic_normalized,
            0,
            0,
        )
        assert dead["error_type"] == "mapper_parsing_exception"
        assert dead["original"] == bad.decode()


async def test_records_that_are_not_bundles_are_dead_lettered_whole_and_the_rest_indexed(
    settings: Settings,
) -> None:
    """A bundle whose lines do not fit its events header, and one whose first line is not
    a create action (OpenSearch refuses the whole request it is in), beside good bundles:
    each bad one is dead-lettered whole with its reason, every good event is indexed once,
    and the group commits past all of them (nothing stops the role)."""
    async with index_run(settings) as it:
        run, stream, service = it.settings, it.stream, it.service

        def good(*names: str) -> bytes:
            return build_bulk_body([Doc(stream, n, event(service, n)) for n in names])

        miscounted = good("m-1", "m-2")[:-1]  # cut: 3 lines for 2 events
        garbage = b"garbage\n" + event(service, "g-1") + b"\n" + good("g-2")
        for value, events in [
            (good("a-1", "a-2"), 2),
            (miscounted, 2),
            (garbage, 2),
            (good("b-1", "b-2", "b-3"), 3),
        ]:
            headers = [(EVENTS_HEADER, str(events).encode())]
            await it.producer.send_and_wait(
                run.topic_normalized, value, key=service.encode(), headers=headers
            )
        await it.index_until_committed(4)
        assert await it.stored_ids() == ["a-1", "a-2", "b-1", "b-2", "b-3"]
        letters = [
            json.loads(value)["deadletter"]
            for _, value in await read_topic(run.kafka_bootstrap, run.topic_deadletter)
        ]
        assert sorted((d["offset"], d["reason"], d["original"]) for d in letters) == [
            (1, "bad_bundle: 3 lines for 2 events", miscounted.decode()),
            (2, "bad_bundle: lines are not create actions", garbage.decode()),
        ]
        assert {(d["stage"], d["topic"]) for d in letters} == {("index", run.topic_normalized)}
