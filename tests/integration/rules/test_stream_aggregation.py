"""ElastAlert2's ``aggregation`` and ``top_count_keys`` on the stream, on the real stack:
an isolated alerting app (own topics, app id, alerts data stream) per test."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import NewTopic
from opensearchpy import OpenSearch

from bench.services import delete_topics
from bitacora.durations import format_timestamp
from bitacora.processors.alerting.detect_stage import register_detect
from bitacora.processors.alerting.notify_stage import NotifyService, register_notify
from bitacora.processors.alerting.route_stage import RouteRole
from bitacora.processors.app import Role, create_app, raw_topic
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations.alertmanager import RESEND_S
from bitacora.settings import Settings
from tests.helpers import seed
from tests.integration.rules.receivers import HttpReceiver, http_receiver
from tests.integration.rules.test_stream_alerts import Events, admin_call, until


def _settings(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path, **overrides: object
) -> Settings:
    """A test's own app id and topics (``topics`` and ``alerting`` below use them)."""
    suffix = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap=kafka_bootstrap,
        opensearch_url=opensearch_url,
        app_id=f"test-agg-{suffix}",
        topic_normalized=f"test-agg-normalized-{suffix}",
        topic_alerts=f"test-agg-alerts-{suffix}",
        topic_partitions=1,
        processor_data_dir=tmp_path,
        **overrides,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def topics(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    """The test's topics and a producer; the topics are deleted on exit."""
    names = [settings.topic_normalized, settings.topic_alerts, f"{settings.app_id}-silences"]
    bootstrap = settings.kafka_bootstrap
    await admin_call(bootstrap, lambda a: a.create_topics([NewTopic(t, 1, 1) for t in names[:2]]))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()
        await delete_topics(bootstrap, names, settings.app_id)


@asynccontextmanager
async def alerting(
    settings: Settings,
    rule: Rule,
    alerts_index: str | None = None,
    alertmanager_resend_s: float = RESEND_S,
) -> AsyncIterator[NotifyService]:
    """The alerting app (route, detect, notify), stopped gracefully on exit."""
    app = create_app(settings, Role.ALERTING)
    alerts = raw_topic(app, settings.topic_alerts)
    detector = register_detect(app, alerts, [rule], settings)
    route = RouteRole(settings, detector)
    service = register_notify(
        app,
        alerts,
        settings,
        [rule],
        alerts_index=alerts_index,
        silences_topic=f"{settings.app_id}-silences",
        alertmanager_resend_s=alertmanager_resend_s,
    )
    await app.start()
    await route.start()
    try:
        yield service
    finally:
        await route.stop()
        await app.stop()
        if service.session is not None:
            await service.session.close()


@asynccontextmanager
async def stack(
    settings: Settings, rule: Rule, alerts_index: str
) -> AsyncIterator[tuple[AIOKafkaProducer, NotifyService]]:
    """Topics, a producer and the alerting app."""
    async with topics(settings) as producer, alerting(settings, rule, alerts_index) as service:
        yield producer, service


def sent_docs(client: OpenSearch, index: str) -> list[dict[str, Any]]:
    """The alert documents notify sent (action ``send``), oldest first."""
    client.indices.refresh(index=index)
    found = client.search(
        index=index,
        body={"size": 100, "sort": [{"@timestamp": "asc"}], "query": {"match_all": {}}},
    )
    docs = [hit["_source"] for hit in found["hits"]["hits"]]
    return [d for d in docs if d["notify"]["action"] == "send"]


def post_rule(receiver: HttpReceiver, **options: Any) -> Rule:
    return Rule.model_validate(
        {
            "name": "agg-burst",
            "filter": [{"term": {"log.level": "error"}}],
            "realert": 0,
            "alert": "post",
            "http_post_url": f"{receiver.url}/hook",
            **options,
        }
    )


async def test_burst_grouped_per_aggregation_key_one_alert_each(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    settings = _settings(kafka_bootstrap, opensearch_url, tmp_path)
    client = OpenSearch(hosts=[opensearch_url])
    with seed.installed(client, seed.new_streams()) as streams:
        async with http_receiver() as receiver:
            rule = post_rule(
                receiver,
                type="any",
                aggregation="5s",
                aggregate_by_match_time=True,  # the burst's event times are ms apart
                aggregation_key="service.name",
                summary_table_fields=["service.name", "log.level"],
            )
            async with stack(settings, rule, streams.alerts) as (producer, service):
                one = Events(producer, settings.topic_normalized, "svc-one")
                two = Events(producer, settings.topic_normalized, "svc-two")
                await one.send(4)
                await two.send(2)
                await until(lambda: service.handled == 6, "six matches decided")
                assert service.actions == ["aggregated"] * 6
                assert service.aggregator is not None
                aggregator = service.aggregator
                # Both periods end: one page per key, and no open group is left to send.
                await until(lambda: aggregator.sent == 2, "both groups sent")
                await until(lambda: not list(aggregator.table.keys()), "the groups removed")
                assert len(receiver.requests) == 2
            services = sorted(r.body["service.name"] for r in receiver.requests)
            assert services == ["svc-one", "svc-two"]
            docs = sorted(sent_docs(client, streams.alerts), key=lambda d: -d["count"])
            summaries = [
                (d["extra"]["num_matches"], d["count"], d["extra"]["summary_table"]) for d in docs
            ]
            assert summaries == [
                (4, 4, [["svc-one", "error", 4]]),
                (2, 2, [["svc-two", "error", 2]]),
            ]


async def test_top_count_keys_counted_from_opensearch_at_alert_time(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    settings = _settings(kafka_bootstrap, opensearch_url, tmp_path)
    client = OpenSearch(hosts=[opensearch_url])
    with seed.installed(client, seed.new_streams()) as streams:
        service_name = "svc-top"
        stored = [("web-a", "error", service_name)] * 3 + [("web-b", "error", service_name)] * 2
        stored += [("web-c", "info", service_name), ("web-d", "error", "svc-other")]
        now = time.time()
        for number, (host, level, name) in enumerate(stored):
            client.index(
                index=streams.logs_stream(name),
                op_type="create",
                refresh=True,
                body={
                    "@timestamp": format_timestamp(now - 60 + number),
                    "event.id": f"stored-{number}",
                    "service.name": name,
                    "host.name": host,
                    "log.level": level,
                    "message": "payment failed",
                },
            )
        async with http_receiver() as receiver:
            rule = post_rule(
                receiver,
                type="frequency",
                num_events=3,
                timeframe="10m",
                query_key="service.name",
                index=streams.logs,
                top_count_keys=["host.name"],
            )
            async with stack(settings, rule, streams.alerts) as (producer, service):
                await Events(producer, settings.topic_normalized, service_name).send(3)
                await receiver.wait_for(1, 90.0)
                await until(lambda: service.handled == 1, "the alert decided")
                assert service.top_counts.failed == 0
            docs = sent_docs(client, streams.alerts)
            assert [d["extra"]["top_events_host.name"] for d in docs] == [{"web-a": 3, "web-b": 2}]


async def test_an_open_group_survives_a_restart_and_is_sent_once(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    settings = _settings(kafka_bootstrap, opensearch_url, tmp_path / "first")
    client = OpenSearch(hosts=[opensearch_url])
    with seed.installed(client, seed.new_streams()) as streams:
        async with http_receiver() as receiver:
            # Open until well after the first worker stopped (under a second from the first
            # match, on a loaded 2-core machine): the second one restores the group.
            rule = post_rule(receiver, type="any", aggregation="6s")
            async with topics(settings) as producer:
                async with alerting(settings, rule, streams.alerts) as service:
                    await Events(producer, settings.topic_normalized, "svc-restart").send(3)
                    await until(lambda: service.handled == 3, "three matches decided")
                    assert service.aggregator is not None
                    assert service.aggregator.sent == 0
                # A new worker with an empty data dir: the group comes from the changelog.
                moved = settings.model_copy(update={"processor_data_dir": tmp_path / "second"})
                async with alerting(moved, rule, streams.alerts) as service:
                    aggregator = service.aggregator
                    assert aggregator is not None
                    await until(lambda: aggregator.sent == 1, "the restored group sent")
                    await until(lambda: not list(aggregator.table.keys()), "the group removed")
                    assert len(receiver.requests) == 1
            docs = sent_docs(client, streams.alerts)
            assert [(d["extra"]["num_matches"], d["count"]) for d in docs] == [(3, 3)]


async def test_top_count_keys_gained_on_reload_are_counted(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    """A running rule reloaded with ``top_count_keys``: its next alert carries the counts."""
    settings = _settings(kafka_bootstrap, opensearch_url, tmp_path)
    client = OpenSearch(hosts=[opensearch_url])
    with seed.installed(client, seed.new_streams()) as streams:
        service_name = "svc-reload"
        now = time.time()
        for number, host in enumerate(["web-a", "web-a", "web-b"]):
            client.index(
                index=streams.logs_stream(service_name),
                op_type="create",
                refresh=True,
                body={
                    "@timestamp": format_timestamp(now - 60 + number),
                    "event.id": f"stored-{number}",
                    "service.name": service_name,
                    "host.name": host,
                    "log.level": "error",
                    "message": "payment failed",
                },
            )
        async with http_receiver() as receiver:
            before = post_rule(
                receiver,
                type="frequency",
                num_events=3,
                timeframe="10m",
                query_key="service.name",
                index=streams.logs,
            )
            after = before.model_copy(update={"top_count_keys": ["host.name"]})
            async with stack(settings, before, streams.alerts) as (producer, service):
                service.rules = {after.name: after}  # what the alerting role's reload does
                await Events(producer, settings.topic_normalized, service_name).send(3)
                await receiver.wait_for(1, 90.0)
                await until(lambda: service.handled == 1, "the alert decided")
                assert service.top_counts.failed == 0
            docs = sent_docs(client, streams.alerts)
            assert [d["extra"].get("top_events_host.name") for d in docs] == [
                {"web-a": 2, "web-b": 1}
            ]


async def test_a_resolve_waits_for_the_group_alert_it_resolves(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    """A key resolves while its firing match waits in an open group: Alertmanager gets the
    group's firing alert first, then the resolve (never "resolved" before "firing")."""
    settings = _settings(kafka_bootstrap, opensearch_url, tmp_path)
    client = OpenSearch(hosts=[opensearch_url])
    with seed.installed(client, seed.new_streams()) as streams:
        async with http_receiver() as receiver:
            rule = Rule.model_validate(
                {
                    "name": "agg-resolve",
                    "type": "frequency",
                    "num_events": 2,
                    "timeframe": "1h",
                    "query_key": "service.name",
                    "filter": [{"term": {"log.level": "error"}}],
                    "resolve_filter": [{"term": {"log.level": "info"}}],
                    # Far longer than deciding the recovery takes (under a second from the
                    # firing match, on a loaded 2-core machine): the group is still open.
                    "aggregation": "6s",
                    "alert": "alertmanager",
                    "alertmanager_hosts": [receiver.url],
                }
            )
            async with stack(settings, rule, streams.alerts) as (producer, service):
                name = "svc-resolving"
                await Events(producer, settings.topic_normalized, name).send(2)
                await until(lambda: service.handled == 1, "the firing match decided")
                await Events(producer, settings.topic_normalized, name).recover()
                await until(lambda: service.handled == 2, "the resolve decided")
                aggregator = service.aggregator
                assert aggregator is not None
                await until(lambda: aggregator.sent == 1, "the group sent")
                await receiver.wait_for(2, 30.0)
                await until(lambda: not list(aggregator.table.keys()), "the group removed")
                bodies = [r.body[0] for r in receiver.requests]
                order = [
                    (b["labels"]["key"], b["annotations"]["summary"].startswith("[RESOLVED] "))
                    for b in bodies
                ]
                # The group's identity (no aggregation_key: the rule's), firing then resolved.
                assert order == [("all", False), ("all", True)]
                assert service.actions == ["aggregated", "aggregated", "send", "send"]
            docs = sent_docs(client, streams.alerts)
            assert [(d["status"], d["key"], d["dedup_key"]) for d in docs] == [
                ("firing", "all", "agg-resolve"),
                ("resolved", "all", "agg-resolve"),
            ]
