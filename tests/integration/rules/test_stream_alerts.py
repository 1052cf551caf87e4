"""Detect + notify agents in-process on the real Kafka: one alert, survived restarts.

A faust app (unique app id and topics) runs ``register_detect`` and ``register_notify``;
normalized events go into its input topic; a local HTTP receiver is the destination.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.services import delete_topics
from bitacora import schema
from bitacora.bundles import EVENTS_HEADER
from bitacora.durations import format_timestamp
from bitacora.processors.alerting.detect_stage import register_detect
from bitacora.processors.alerting.detector import Detector
from bitacora.processors.alerting.notify_stage import NotifyService, register_notify
from bitacora.processors.alerting.route_stage import RouteRole
from bitacora.processors.alerting.silences import write_silence
from bitacora.processors.app import Role, create_app, raw_topic
from bitacora.processors.storage.bulk import build_bulk_body
from bitacora.rules.model import Rule
from bitacora.rules.notify.silences import new_silence
from bitacora.settings import Settings
from tests.integration.rules.receivers import HttpReceiver, http_receiver

DEADLINE_S = 90.0


async def until(check: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
    """Poll ``check`` until true; fail naming ``what`` after the deadline."""
    end = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def admin_call(bootstrap: str, call: Callable[[Any], Awaitable[Any]]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await call(admin)
    finally:
        await admin.close()


@asynccontextmanager
async def running(
    settings: Settings, rules: list[Rule], silences_topic: str
) -> AsyncIterator[tuple[Detector, NotifyService]]:
    """The alerting app started in this loop, stopped on exit (a graceful worker stop)."""
    app = create_app(settings, Role.ALERTING)
    alerts = raw_topic(app, settings.topic_alerts)
    detector = register_detect(app, alerts, rules, settings)
    route = RouteRole(settings, detector)
    service = register_notify(
        app, alerts, settings, rules, alerts_index=None, silences_topic=silences_topic
    )
    await app.start()
    await route.start()
    try:
        yield detector, service
    finally:
        await route.stop()
        await app.stop()
        # The app's shutdown closed notify's HTTP session (no "Unclosed client session").
        assert service.session is None or service.session.closed


class Events:
    """Produces normalized error events of one service into the input topic, as the
    normalize role does: each call's events in one bundle (processors.storage.bulk)."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, service: str) -> None:
        self.producer, self.topic, self.service, self.sent = producer, topic, service, 0

    async def send(self, count: int) -> None:
        events = []
        for _ in range(count):
            self.sent += 1
            events.append(
                {
                    "@timestamp": format_timestamp(time.time()),
                    "event.id": f"{self.service}-{self.sent}",
                    "service.name": self.service,
                    "log.level": "error",
                    "message": f"payment failed {{{{ 7*7 }}}} <b>#{self.sent}</b>",
                }
            )
        await self._bundle(events)

    async def recover(self) -> None:
        """An info event of the service: a rule's ``resolve_filter`` resolves its key."""
        event = {
            "@timestamp": format_timestamp(time.time()),
            "event.id": f"{self.service}-recovered",
            "service.name": self.service,
            "log.level": "info",
            "message": "payments flowing again",
        }
        await self._bundle([event])

    async def _bundle(self, events: list[dict[str, Any]]) -> None:
        stream = schema.logs_stream_for(self.service)
        body = build_bulk_body([(stream, e["event.id"], json.dumps(e).encode()) for e in events])
        await self.producer.send_and_wait(
            self.topic,
            body,
            key=self.service.encode(),
            headers=[(EVENTS_HEADER, str(len(events)).encode())],
        )


def burst_rule(receiver: HttpReceiver) -> Rule:
    return Rule.model_validate(
        {
            "name": "stream-burst",
            "type": "frequency",
            "num_events": 5,
            "timeframe": "10m",
            "query_key": "service.name",
            "realert": "10m",
            "filter": [{"term": {"log.level": "error"}}],
            "alert": ["post"],
            "http_post_url": f"{receiver.url}/hook",
        }
    )


async def test_burst_one_alert_and_restarts_neither_miss_nor_repeat(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        app_id=f"test-rules-{suffix}",
        topic_normalized=f"test-rules-normalized-{suffix}",
        topic_alerts=f"test-rules-alerts-{suffix}",
        topic_partitions=2,
        processor_data_dir=tmp_path,
        allowed_lateness_s=60,
    )
    silences_topic = f"test-rules-silences-{suffix}"
    service_name = f"svc-{suffix}"
    topics = [settings.topic_normalized, settings.topic_alerts]
    await admin_call(
        kafka_bootstrap, lambda a: a.create_topics([NewTopic(t, 2, 1) for t in topics])
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        async with http_receiver() as receiver:
            rules = [burst_rule(receiver)]
            events = Events(producer, settings.topic_normalized, service_name)

            # 1. Mid-window: 3 of 5 events, then a graceful stop.
            async with running(settings, rules, silences_topic) as (detector, _):
                await events.send(3)
                await until(lambda: detector.evaluated >= 3, "3 events evaluated")
            assert receiver.requests == []

            # 2. A new worker (same app id and data dir) restores the window: 2 more fire.
            async with running(settings, rules, silences_topic) as (detector, service):
                await events.send(2)
                [request] = await receiver.wait_for(1, DEADLINE_S)
                await until(lambda: service.handled >= 1, "the alert decided")
            assert request.path == "/hook"
            assert request.body["service.name"] == service_name
            assert request.body["message"] == "payment failed {{ 7*7 }} <b>#5</b>"
            assert detector.evaluated == 2  # the first three were not replayed

            # 3. After another restart, a second burst within realert is held back where it
            # fires: the key's realert period was restored with its window.
            async with running(settings, rules, silences_topic) as (detector, service):
                await events.send(5)
                await until(lambda: detector.held == 1, "the second burst held back")
                assert (detector.evaluated, detector.alerted, service.handled) == (5, 0, 0)
            assert len(receiver.requests) == 1
    finally:
        await producer.stop()
        await delete_topics(kafka_bootstrap, [*topics, silences_topic], settings.app_id)


async def test_silence_written_by_the_cli_path_stops_the_page(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        app_id=f"test-rules-{suffix}",
        topic_normalized=f"test-rules-normalized-{suffix}",
        topic_alerts=f"test-rules-alerts-{suffix}",
        topic_partitions=1,
        processor_data_dir=tmp_path,
    )
    silences_topic = f"test-rules-silences-{suffix}"
    service_name = f"svc-{suffix}"
    topics = [settings.topic_normalized, settings.topic_alerts]
    await admin_call(
        kafka_bootstrap, lambda a: a.create_topics([NewTopic(t, 1, 1) for t in topics])
    )
    silence = new_silence("stream-burst", service_name, 3600, "maintenance", time.time())
    await write_silence(
        Settings(kafka_bootstrap=kafka_bootstrap), silences_topic, silence, silence["id"]
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        async with http_receiver() as receiver:
            rules = [burst_rule(receiver)]
            async with running(settings, rules, silences_topic) as (_, service):
                await until(lambda: service.silences.ready.is_set(), "silences loaded")
                await Events(producer, settings.topic_normalized, service_name).send(5)
                await until(lambda: service.handled >= 1, "the alert decided")
                assert service.actions == ["silenced"]
            assert receiver.requests == []
    finally:
        await producer.stop()
        await delete_topics(kafka_bootstrap, [*topics, silences_topic], settings.app_id)
