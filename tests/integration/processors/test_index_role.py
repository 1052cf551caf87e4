"""The index role on the real Kafka and OpenSearch: bundles in, documents and dead letters out."""

from __future__ import annotations

import json
import uuid

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.services import delete_topics
from bitacora import schema
from bitacora.bundles import EVENTS_HEADER
from bitacora.processors.index.role import IndexRole
from bitacora.processors.normalize.stage import ID_HEADER
from bitacora.processors.storage.bulk import build_bulk_body
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


async def test_bundles_are_indexed_and_a_refused_event_is_dead_lettered_with_its_origin(
    settings: Settings,
) -> None:
    """One bundle with an event OpenSearch refuses (a mapping conflict) and one record from
    before bundles: every other event is indexed once, the refused one is dead-lettered
    with its id, the bundle's position and its source, and both records are committed."""
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
    bootstrap = run.kafka_bootstrap
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    bad = event(service, "bad", **{"http.response.status_code": "abc"})
    try:
        await admin.create_topics([NewTopic(t, 1, 1) for t in topics])
        docs = [(stream, f"ok-{i}", event(service, f"ok-{i}")) for i in range(5)]
        docs.insert(2, (stream, "bad", bad))
        await producer.send_and_wait(
            run.topic_normalized,
            build_bulk_body(docs),
            key=service.encode(),
            headers=[(EVENTS_HEADER, b"6")],
        )
        await producer.send_and_wait(
            run.topic_normalized,
            event(service, "legacy"),
            key=service.encode(),
            headers=[(ID_HEADER, b"legacy")],
        )
        role = IndexRole(run)
        await role.start()
        try:
            group = schema.consumer_group(run.app_id, "index")

            async def committed() -> bool:
                offsets = await admin.list_consumer_group_offsets(group)
                done = {tp.topic: m.offset for tp, m in offsets.items()}
                return done.get(run.topic_normalized) == 2

            await until(committed, "the index group's commit past both records")
        finally:
            await role.stop()
        assert await count(run.opensearch_url, stream) == 6
        hits = await ok(
            run.opensearch_url, "POST", f"/{stream}/_search", {"size": 10, "sort": ["event.id"]}
        )
        assert sorted(h["_id"] for h in hits["hits"]["hits"]) == sorted(
            ["legacy", *(f"ok-{i}" for i in range(5))]
        )
        [(key, value)] = await read_topic(bootstrap, run.topic_deadletter)
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
    finally:
        await producer.stop()
        await call(run.opensearch_url, "DELETE", f"/_data_stream/{stream}")
        await delete_topics(bootstrap, topics, run.app_id)
        await admin.close()
