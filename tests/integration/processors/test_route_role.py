"""The alerting role's route stage on the real Kafka: what it reads, produces and commits."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bitacora import schema
from bitacora.bundles import EVENTS_HEADER
from bitacora.durations import format_timestamp
from bitacora.processors.alerting.detector import Detector
from bitacora.processors.alerting.route_stage import RouteRole
from bitacora.processors.storage.bulk import build_bulk_body
from bitacora.rules.model import Rule
from bitacora.settings import Settings
from tests.integration.processors.test_batch_role import until

PARTITIONS = 2


def page_rule() -> Rule:
    return Rule.model_validate(
        {"name": "page", "type": "any", "filter": [{"term": {"log.level": "fatal"}}]}
    )


@pytest.mark.parametrize("shape", ["bundles", "documents"])
async def test_route_role_routes_every_event_once_then_commits(
    kafka_bootstrap: str, shape: str
) -> None:
    """A new route group starts at the earliest offsets, routes each event once to an alert
    and commits every partition's end: from bundles, as the normalize role writes them,
    and from one-document records, as it wrote them before bundles."""
    rid = uuid.uuid4().hex[:10]
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        app_id=f"route-{rid}",
        topic_normalized=f"route-{rid}.normalized",
        topic_alerts=f"route-{rid}.alerts",
        topic_partitions=PARTITIONS,
    )
    topics = [settings.topic_normalized, settings.topic_alerts]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
        for partition in range(PARTITIONS):
            events = [
                {
                    "@timestamp": format_timestamp(1_800_000_000 + i),
                    "event.id": f"p{partition}-{i}",
                    "log.level": "fatal",
                    "message": f"p{partition}-{i}",
                }
                for i in range(5)
            ]
            if shape == "documents":
                for event in events:
                    await producer.send_and_wait(
                        settings.topic_normalized, json.dumps(event).encode(), partition=partition
                    )
            else:
                docs = [("logs-x", str(e["event.id"]), json.dumps(e).encode()) for e in events]
                await producer.send_and_wait(
                    settings.topic_normalized,
                    build_bulk_body(docs),
                    partition=partition,
                    headers=[(EVENTS_HEADER, b"5")],
                )
        ends = 5 if shape == "documents" else 1
        route = RouteRole(settings, Detector([page_rule()], settings))
        await route.start()
        try:
            group = schema.input_group(settings.app_id, "alerting")

            async def all_committed() -> bool:
                offsets = await admin.list_consumer_group_offsets(group)
                return {tp.partition: m.offset for tp, m in offsets.items()} == {0: ends, 1: ends}

            await until(all_committed, "the route group's commits")
        finally:
            await route.stop()

        reader = AIOKafkaConsumer(
            settings.topic_alerts, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
        )
        await reader.start()
        alerts: list[dict[str, Any]] = []
        try:
            ends = await reader.end_offsets(
                [TopicPartition(settings.topic_alerts, p) for p in range(PARTITIONS)]
            )
            held = sum(ends.values())  # committed only after Kafka held every alert

            async def read_all() -> bool:
                got = await reader.getmany(timeout_ms=500)
                alerts.extend(json.loads(r.value) for rs in got.values() for r in rs)
                return len(alerts) >= held

            await until(read_all, "the alerts read back")
        finally:
            await reader.stop()
        messages = sorted(alert["event"]["message"] for alert in alerts)
        assert (held, messages) == (10, [f"p{p}-{i}" for p in range(PARTITIONS) for i in range(5)])
    finally:
        await producer.stop()
        await admin.delete_topics(topics)
        await admin.close()
