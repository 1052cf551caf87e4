"""Notify on the real stack: a failing destination is retried later, realert only after the
period, and every decision indexed in an alerts data stream (unique per test)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import NewTopic
from opensearchpy import OpenSearch

from bench.services import delete_topics
from bitacora.durations import parse_timestamp
from bitacora.processors.alerting.detect_stage import register_detect
from bitacora.processors.alerting.notify_stage import register_notify
from bitacora.processors.alerting.route_stage import RouteRole
from bitacora.processors.app import Role, create_app, raw_topic
from bitacora.rules.model import Rule
from bitacora.rules.notify.retry import RetryPolicy
from bitacora.settings import Settings
from tests.helpers import seed
from tests.integration.rules.receivers import http_receiver
from tests.integration.rules.test_stream_alerts import DEADLINE_S, Events, admin_call, until

# Far longer than the second burst takes to be judged after the first alert (about half a
# second, on a loaded 2-core machine too): it falls within the period.
REALERT_S = 4


async def test_retry_later_realert_after_period_and_indexing(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        opensearch_url=opensearch_url,
        app_id=f"test-notify-{suffix}",
        topic_normalized=f"test-notify-normalized-{suffix}",
        topic_alerts=f"test-notify-alerts-{suffix}",
        topic_partitions=1,
        processor_data_dir=tmp_path,
    )
    silences_topic = f"test-notify-silences-{suffix}"
    topics = [settings.topic_normalized, settings.topic_alerts]
    await admin_call(
        kafka_bootstrap, lambda a: a.create_topics([NewTopic(t, 1, 1) for t in topics])
    )
    client = OpenSearch(hosts=[opensearch_url])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        with seed.installed(client, seed.new_streams()) as streams:
            async with http_receiver() as receiver:
                receiver.replies = [(500, {})]  # the first delivery fails
                rule = Rule.model_validate(
                    {
                        "name": "notify-burst",
                        "type": "frequency",
                        "num_events": 3,
                        "timeframe": "10m",
                        "query_key": "service.name",
                        "realert": f"{REALERT_S}s",
                        "alert": "post",
                        "http_post_url": f"{receiver.url}/hook",
                    }
                )
                app = create_app(settings, Role.ALERTING)
                alerts = raw_topic(app, settings.topic_alerts)
                detector = register_detect(app, alerts, [rule], settings)
                route = RouteRole(settings, detector)
                service = register_notify(
                    app,
                    alerts,
                    settings,
                    [rule],
                    policy=RetryPolicy(attempts=1),
                    alerts_index=streams.alerts,
                    silences_topic=silences_topic,
                    first_retry_s=0.5,
                )

                def indexed() -> list[dict[str, Any]]:
                    # A pattern: the data stream exists only once its first document does.
                    pattern = streams.alerts + "*"
                    client.indices.refresh(index=pattern)
                    found = client.search(
                        index=pattern, body={"size": 10, "sort": [{"@timestamp": "asc"}]}
                    )
                    return [hit["_source"] for hit in found["hits"]["hits"]]

                async def indexed_at_least(count: int) -> list[dict[str, Any]]:
                    # Polled: a decision is indexed after its delivery (the later retry may
                    # come first) or later still (notify keeps a document OpenSearch did
                    # not take on its retry topic). The sync client stays off the app's loop.
                    end = time.monotonic() + DEADLINE_S
                    while len(docs := await asyncio.to_thread(indexed)) < count:
                        assert time.monotonic() < end, f"{len(docs)} of {count} alerts indexed"
                        await asyncio.sleep(0.2)
                    return docs

                await app.start()
                await route.start()
                try:
                    events = Events(producer, settings.topic_normalized, f"svc-{suffix}")
                    await events.send(3)
                    # The first delivery is refused: notify keeps the alert for later.
                    await receiver.wait_for(1, DEADLINE_S)
                    # A second burst at once, within realert of the first alert (the wait
                    # for the later retry is not spent out of that period): held back
                    # where it fires.
                    await events.send(3)
                    await until(lambda: detector.held == 1, "the second burst held back")
                    # The kept alert is delivered by the later retry.
                    await receiver.wait_for(2, DEADLINE_S)
                    await until(lambda: service.redelivered == 1, "the later retry")
                    assert [r.path for r in receiver.requests] == ["/hook", "/hook"]
                    # Realert runs from the first alert's creation time, its document's
                    # @timestamp (the clock detect judges on): past it, the next burst pages.
                    [first_doc] = await indexed_at_least(1)
                    created = parse_timestamp(first_doc["@timestamp"])
                    await until(lambda: time.time() > created + REALERT_S, "the realert period")
                    await events.send(3)
                    await receiver.wait_for(3, DEADLINE_S)
                    await until(lambda: service.handled == 2, "the third burst decided")
                    docs = await indexed_at_least(2)
                    assert service.actions == ["send", "send"]
                    assert (detector.alerted, detector.held) == (2, 1)
                finally:
                    await route.stop()
                    await app.stop()
                    if service.session is not None:
                        await service.session.close()

                assert [d["notify"]["action"] for d in docs] == ["send", "send"]
                first = docs[0]["notify"]
                assert isinstance(first, dict)
                assert (first["sent"], list(first["failed"])) == ([], ["post"])
                assert {d["rule"] for d in docs} == {"notify-burst"}
    finally:
        await producer.stop()
        await delete_topics(kafka_bootstrap, [*topics, silences_topic], settings.app_id)


async def test_alertmanager_resent_while_firing_then_resolved(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        app_id=f"test-am-{suffix}",
        topic_normalized=f"test-am-normalized-{suffix}",
        topic_alerts=f"test-am-alerts-{suffix}",
        topic_partitions=1,
        processor_data_dir=tmp_path,
        allowed_lateness_s=0,
    )
    silences_topic = f"test-am-silences-{suffix}"
    topics = [settings.topic_normalized, settings.topic_alerts]
    await admin_call(
        kafka_bootstrap, lambda a: a.create_topics([NewTopic(t, 1, 1) for t in topics])
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        async with http_receiver() as receiver:
            rule = Rule.model_validate(
                {
                    "name": "am-burst",
                    "type": "frequency",
                    "num_events": 3,
                    # Longer than the test: the recovery event resolves, not a quiet window
                    # ending on the clock (which could come before any re-send).
                    "timeframe": "1h",
                    "query_key": "service.name",
                    "filter": [{"term": {"log.level": "error"}}],
                    "resolve_filter": [{"term": {"log.level": "info"}}],
                    "alert": "alertmanager",
                    "alertmanager_hosts": [receiver.url],
                }
            )
            app = create_app(settings, Role.ALERTING)
            alerts = raw_topic(app, settings.topic_alerts)
            detector = register_detect(app, alerts, [rule], settings)
            route = RouteRole(settings, detector)
            service = register_notify(
                app,
                alerts,
                settings,
                [rule],
                alerts_index=None,
                silences_topic=silences_topic,
                alertmanager_resend_s=0.5,
            )
            await app.start()
            await route.start()
            try:
                service_name = f"svc-{suffix}"
                await Events(producer, settings.topic_normalized, service_name).send(3)
                # Fired, then re-sent while firing, then resolved by a recovery event.
                await until(lambda: service.resent >= 1, "a re-send while firing")
                await Events(producer, settings.topic_normalized, service_name).recover()
                await until(lambda: service.actions == ["send", "send"], "firing and resolve sent")
                bodies = [r.body[0] for r in receiver.requests]
                assert len(bodies) >= 3  # the alert, at least one re-send, the resolve
                resend_count = service.resent
                assert resend_count >= 1
                firing, resolved = bodies[0], bodies[-1]
                assert resolved["labels"] == firing["labels"]
                assert resolved["annotations"]["summary"].startswith("[RESOLVED] ")
                assert resolved["endsAt"] < firing["endsAt"]
                assert all(b["labels"] == firing["labels"] for b in bodies)
                # No re-sends after the resolve.
                settled = len(receiver.requests)
                ticks = service.resend_ticks
                await until(lambda: service.resend_ticks >= ticks + 3, "three resend periods")
                assert len(receiver.requests) == settled
            finally:
                await route.stop()
                await app.stop()
                if service.session is not None:
                    await service.session.close()
    finally:
        await producer.stop()
        await delete_topics(kafka_bootstrap, [*topics, silences_topic], settings.app_id)


async def test_flatline_fires_by_tick_and_resolves_when_traffic_returns(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        app_id=f"test-flat-{suffix}",
        topic_normalized=f"test-flat-normalized-{suffix}",
        topic_alerts=f"test-flat-alerts-{suffix}",
        topic_partitions=2,
        processor_data_dir=tmp_path,
        allowed_lateness_s=0,
    )
    silences_topic = f"test-flat-silences-{suffix}"
    topics = [settings.topic_normalized, settings.topic_alerts]
    await admin_call(
        kafka_bootstrap, lambda a: a.create_topics([NewTopic(t, 2, 1) for t in topics])
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        async with http_receiver() as receiver:
            rule = Rule.model_validate(
                {
                    "name": "gone-silent",
                    "type": "flatline",
                    "threshold": 1,
                    "timeframe": "2s",
                    "query_key": "service.name",
                    "realert": "1h",
                    "alert": "post",
                    "http_post_url": receiver.url,
                }
            )
            app = create_app(settings, Role.ALERTING)
            alerts = raw_topic(app, settings.topic_alerts)
            detector = register_detect(app, alerts, [rule], settings)
            route = RouteRole(settings, detector)
            service = register_notify(
                app, alerts, settings, [rule], alerts_index=None, silences_topic=silences_topic
            )
            await app.start()
            await route.start()
            try:
                events = Events(producer, settings.topic_normalized, f"svc-{suffix}")
                await events.send(1)
                [request] = await receiver.wait_for(1, DEADLINE_S)
                assert request.body["service.name"] == f"svc-{suffix}"
                assert (request.body["key"], request.body["count"]) == (f"svc-{suffix}", 0)
                await events.send(1)
                await until(lambda: service.actions == ["send", "send"], "the resolve decided")
                assert len(receiver.requests) == 1  # post takes no resolve notices
            finally:
                await route.stop()
                await app.stop()
                if service.session is not None:
                    await service.session.close()
    finally:
        await producer.stop()
        await delete_topics(kafka_bootstrap, [*topics, silences_topic], settings.app_id)
