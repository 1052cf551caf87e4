"""An aggregating rule whose ``aggregation_key`` (service) differs from its ``query_key``
(host), over alerts and state topics of several partitions, on the real stack: realert
per host, exactly one alert per service group, all of the rule's state on one partition."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic
from opensearchpy import OpenSearch

from bench.services import delete_topics
from bitacora.durations import format_timestamp
from bitacora.partitions import partition_for
from bitacora.processors.app import NOTIFY_AGGREGATION, NOTIFY_STATE, Role, internal_topic_name
from bitacora.settings import Settings
from tests.helpers import seed
from tests.integration.rules.receivers import http_receiver
from tests.integration.rules.test_stream_aggregation import alerting, post_rule, sent_docs
from tests.integration.rules.test_stream_alerts import admin_call, until

PARTITIONS = 4
RULE = "agg-hosts"
# (service, host) of each error, in order. A host alerts once per realert period (1 min):
# its later errors are suppressed whatever their service, so they join no group.
ERRORS = [
    ("s0", "h0"),
    ("s0", "h1"),
    ("s1", "h0"),  # h0 realerting
    ("s1", "h2"),
    ("s2", "h3"),
    ("s2", "h1"),  # h1 realerting
    ("s0", "h4"),
    ("s1", "h5"),
    ("s0", "h0"),  # h0 realerting
]


async def _changelog_partitions(bootstrap: str, topic: str) -> list[int]:
    """The partition of every record of ``topic`` (read from the start to its end)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: list[int] = []
        deadline = time.monotonic() + 60
        while len(found) < sum(ends.values()):
            assert time.monotonic() < deadline, f"{topic}: {len(found)} records read"
            batches = await consumer.getmany(*parts, timeout_ms=1000)
            found += [tp.partition for tp, records in batches.items() for _ in records]
        return found
    finally:
        await consumer.stop()


async def test_one_alert_per_group_and_realert_per_host_across_partitions(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        opensearch_url=opensearch_url,
        app_id=f"test-aggp-{suffix}",
        topic_normalized=f"test-aggp-normalized-{suffix}",
        topic_alerts=f"test-aggp-alerts-{suffix}",
        topic_partitions=PARTITIONS,
        processor_data_dir=tmp_path,
    )
    # The hosts' realert states and the services' groups would spread over partitions if
    # keyed by themselves: the test is about keeping them together.
    assert len({partition_for(f"{RULE}.{h}".encode(), PARTITIONS) for _, h in ERRORS}) > 1
    assert len({partition_for(f"{RULE}\x1f{s}".encode(), PARTITIONS) for s, _ in ERRORS}) > 1
    names = [settings.topic_normalized, settings.topic_alerts, f"{settings.app_id}-silences"]
    topics = [NewTopic(name, PARTITIONS, 1) for name in names[:2]]
    await admin_call(kafka_bootstrap, lambda a: a.create_topics(topics))
    client = OpenSearch(hosts=[opensearch_url])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        with seed.installed(client, seed.new_streams()) as streams:
            async with http_receiver() as receiver:
                rule = post_rule(
                    receiver,
                    name=RULE,
                    type="any",
                    query_key="host.name",
                    realert="1m",
                    # Open until all nine are decided (well under a second, all in a batch).
                    aggregation="5s",
                    aggregation_key="service.name",
                    summary_table_fields=["service.name", "host.name"],
                )
                async with alerting(settings, rule, streams.alerts) as service:
                    for number, (name, host) in enumerate(ERRORS):
                        event = {
                            "@timestamp": format_timestamp(time.time()),
                            "event.id": f"e{number}",
                            "service.name": name,
                            "host.name": host,
                            "log.level": "error",
                            "message": "disk full",
                        }
                        # One input partition: the errors are routed in this order.
                        await producer.send_and_wait(
                            settings.topic_normalized, json.dumps(event).encode(), key=b"one"
                        )
                    # Six first errors of a host reach notify; the three held ones never do.
                    # `any` keeps no detect state: notify judges realert, per host, and
                    # sees the rule's alerts in order on one partition.
                    await until(lambda: service.handled == 9, "nine matches decided", 90.0)
                    held = ["aggregated", "aggregated", "suppressed"]
                    assert service.actions == held * 3
                    aggregator = service.aggregator
                    assert aggregator is not None
                    await until(lambda: aggregator.sent == 3, "three groups sent", 90.0)
                    await until(lambda: not list(aggregator.table.keys()), "groups removed")
                    assert service.handled == 9
                    assert len(receiver.requests) == 3
                docs = sent_docs(client, streams.alerts)
            tables = sorted(
                (d["event"]["service.name"], d["extra"]["num_matches"], d["extra"]["summary_table"])
                for d in docs
            )
            assert tables == [
                ("s0", 3, [["s0", "h0", 1], ["s0", "h1", 1], ["s0", "h4", 1]]),
                ("s1", 2, [["s1", "h2", 1], ["s1", "h5", 1]]),
                ("s2", 1, [["s2", "h3", 1]]),
            ]
        # Every state record of the rule (hosts' realert periods, services' groups) sits on
        # the partition of the rule's alerts: one worker owns all of it.
        home = partition_for(RULE.encode(), PARTITIONS)
        for table in (NOTIFY_STATE, NOTIFY_AGGREGATION):
            topic = internal_topic_name(settings.app_id, Role.ALERTING, f"{table}-changelog")
            placed = await _changelog_partitions(kafka_bootstrap, topic)
            assert placed, table
            assert set(placed) == {home}, table
    finally:
        await producer.stop()
        await delete_topics(kafka_bootstrap, names, settings.app_id)
