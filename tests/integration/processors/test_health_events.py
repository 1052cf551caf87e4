"""A worker's health events reach ``logs.normalized`` through normalize, like any log."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer

from bitacora.settings import Settings
from tests.reliability.harness import Pipeline, read_normalized, wait_until


async def test_health_events_report_dead_letters(settings: Settings) -> None:
    run = Pipeline(settings)
    run.extra_env["BITACORA_HEALTH_EVENT_INTERVAL_S"] = "1"
    await run.create_topics()
    bootstrap = settings.kafka_bootstrap
    try:
        run.start_processor(roles=("normalize",))
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:  # not a raw record: dead-lettered by normalize
            await producer.send_and_wait(run.env["BITACORA_TOPIC_RAW"], b"\xc1 not msgpack")
        finally:
            await producer.stop()

        async def reported() -> list[dict[str, Any]]:
            events = await read_normalized(bootstrap, run.env["BITACORA_TOPIC_NORMALIZED"])
            return [
                e
                for e in events
                if e.get("event.dataset") == "bitacora.health"
                and e["labels"]["deadletters_new"] == 1
            ]

        (event, *_rest) = await wait_until(reported, 90, "a health event with the dead letter")
        assert event["service.name"] == run.env["BITACORA_APP_ID"]
        assert event["log.level"] == "warn"
        assert event["labels"]["role"] == "normalize"
        assert event["labels"]["events_in_new"] >= 1
        assert "1 dead-lettered" in event["message"]
        run.assert_alive()
    finally:
        await run.cleanup()
