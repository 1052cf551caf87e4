"""Alerts the notify agent takes together go out side by side, on the real stack: while a
webhook hangs on one key's page, the page of another key taken in the same batch is
delivered; each is delivered and indexed exactly once."""

from __future__ import annotations

from pathlib import Path

from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.rules.replay import run_rules_over
from tests.integration.rules.receivers import Received, http_receiver
from tests.integration.rules.test_stream_aggregation import _settings, alerting, topics
from tests.integration.rules.test_stream_alerts import until
from tests.unit.rules.util import ev

HELD, PROMPT = "svc-held", "svc-prompt"


def webhook_rule(url: str) -> Rule:
    return Rule.model_validate(
        {
            "name": "lanes",
            "type": "frequency",
            "num_events": 2,
            "timeframe": "1h",
            "query_key": "service.name",
            "alert": "post",
            "http_post_url": url,
            # Longer than the test: the held request never times out into a retry.
            "http_post_timeout": 120,
        }
    )


def firing(rule: Rule, service: str) -> Alert:
    (alert,) = run_rules_over(
        [ev(0, service__name=service), ev(1, service__name=service)], [rule], lateness_s=0
    )
    return alert


async def test_a_hanging_destination_holds_back_only_its_own_key(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    settings = _settings(kafka_bootstrap, opensearch_url, tmp_path)
    async with http_receiver() as receiver:
        rule = webhook_rule(receiver.url)
        receiver.hold = lambda body: body["service.name"] == HELD
        async with topics(settings) as producer, alerting(settings, rule) as service:

            def of(service_name: str) -> list[Received]:
                return [r for r in receiver.requests if r.body["service.name"] == service_name]

            # Both alerts in one record batch, so one fetch brings them: the agent takes
            # them together (its batches close every 0.1 s, not 0.1 s after a first
            # alert, so alerts produced apart could straddle a boundary).
            batch = producer.create_batch()
            for alert in (firing(rule, HELD), firing(rule, PROMPT)):
                metadata = batch.append(
                    key=alert.dedup_key.encode(),
                    value=alert.model_dump_json().encode(),
                    timestamp=None,
                )
                assert metadata is not None  # the batch has room for both
            batch.close()
            await (await producer.send_batch(batch, settings.topic_alerts, partition=0))
            await until(lambda: len(of(PROMPT)) == 1, f"{PROMPT} delivered")
            # It went out while the webhook still held HELD's request open. Handled one
            # after the other, it would wait until HELD's delivery gave up.
            assert [r.held_open for r in of(PROMPT)] == [1]
            assert [r.held_open for r in of(HELD)] == [0]
            assert service.handled == 0  # the batch is done only once every lane is
            receiver.release.set()
            await until(lambda: service.handled == 2, "both alerts decided")
            assert (len(of(HELD)), len(of(PROMPT))) == (1, 1)
