"""Smoke tests on the real stack: aiokafka, faust and opensearch-py against the session's
Kafka and OpenSearch (these prove the chosen Kafka and OpenSearch versions work here)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from opensearchpy import OpenSearch

from bench import services


async def test_aiokafka_idempotent_produce_and_group_consume(kafka_bootstrap: str) -> None:
    topic = f"smoke-{uuid.uuid4().hex[:12]}"
    group = f"{topic}-group"
    await services.create_topics(kafka_bootstrap, [topic], partitions=3)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        compression_type="zstd",
    )
    await producer.start()
    try:
        for i in range(20):
            await producer.send(topic, f"m{i}".encode(), key=f"k{i % 4}".encode())
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: list[str] = []
    try:
        async with asyncio.timeout(60):
            while len(received) < 20:
                batches = await consumer.getmany(timeout_ms=1000)
                received += [r.value.decode() for rs in batches.values() for r in rs if r.value]
        await consumer.commit()
    finally:
        await consumer.stop()
        await services.delete_topics(kafka_bootstrap, [topic], groups=[group])
    assert sorted(received, key=lambda m: int(m[1:])) == [f"m{i}" for i in range(20)]
    assert await services.wait_kafka_gone(kafka_bootstrap, topic) == ([], [])


async def test_faust_app_consumes_from_the_local_kafka(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:12]
    app_id = topic_name = f"smoke-faust-{suffix}"
    await services.create_topics(kafka_bootstrap, [topic_name], partitions=1)
    app = faust.App(
        app_id,
        broker=f"kafka://{kafka_bootstrap}",
        web_enabled=False,
        store="memory://",
        datadir=str(tmp_path),
        topic_partitions=1,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
    )
    topic = app.topic(topic_name, value_serializer="raw", partitions=1)
    seen: list[bytes] = []
    done = asyncio.Event()

    @app.agent(topic)
    async def collect(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            seen.append(value)
            if len(seen) == 5:
                done.set()

    try:
        await app.start()
        try:
            for i in range(5):
                await topic.send(value=f"v{i}".encode())
            async with asyncio.timeout(90):
                await done.wait()
        finally:
            await app.stop()
    finally:
        # The app's group and internal topics (``<app id>-__assignor-__leader``) too.
        await services.delete_topics(kafka_bootstrap, [topic_name], app_id)
    assert seen == [b"v0", b"v1", b"v2", b"v3", b"v4"]
    assert await services.wait_kafka_gone(kafka_bootstrap, app_id) == ([], [])


def test_opensearch_index_and_find(opensearch_url: str) -> None:
    client = OpenSearch(hosts=[opensearch_url])
    index = f"smoke-{uuid.uuid4().hex[:12]}"
    try:
        client.index(
            index=index,
            id="1",
            body={"message": "payment declined for order 42", "service": "order-service"},
            refresh="wait_for",
        )
        found = client.search(index=index, body={"query": {"match": {"message": "declined"}}})
        hits = found["hits"]["hits"]
        assert [(h["_id"], h["_source"]["service"]) for h in hits] == [("1", "order-service")]
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)
        client.close()


def test_opensearch_runs_the_configured_version(opensearch_url: str) -> None:
    """On the local stack: exactly the default version; elsewhere: a 2.19+ OpenSearch."""
    from bitacora import stack
    from bitacora.settings import Settings

    client = OpenSearch(hosts=[opensearch_url])
    try:
        info = client.info()
    finally:
        client.close()
    assert info["version"]["distribution"] == "opensearch"
    local = Settings(opensearch_url=opensearch_url)
    if any(s.service == "opensearch" and s.running for s in stack.status(local)):
        assert info["version"]["number"] == local.opensearch_version
    else:
        major, minor = (int(p) for p in info["version"]["number"].split(".")[:2])
        assert (major, minor) >= (2, 19)
