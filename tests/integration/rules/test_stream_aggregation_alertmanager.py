"""Aggregating rules with resolving destinations on the real stack: nothing of a group
reaches Alertmanager before the group's alert, the re-send timer re-sends the group's
alert (what Alertmanager saw), never a member match, and a group's incident (PagerDuty
dedup key, Alertmanager labels) resolves once every key that fired into it resolved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bitacora.rules.model import Rule
from tests.integration.rules.receivers import http_receiver
from tests.integration.rules.test_stream_aggregation import _settings, alerting, topics
from tests.integration.rules.test_stream_alerts import Events, until

FAST_RESEND_S = 0.2  # the re-send timer's period here (60 s in production)


def am_rule(url: str, aggregation: str, **options: Any) -> Rule:
    return Rule.model_validate(
        {
            "name": "agg-am",
            "type": "frequency",
            "num_events": 2,
            "timeframe": "1h",
            "query_key": "service.name",
            "filter": [{"term": {"log.level": "error"}}],
            "resolve_filter": [{"term": {"log.level": "info"}}],
            "aggregation": aggregation,
            "alert": "alertmanager",
            "alertmanager_hosts": [url],
            **options,
        }
    )


def without_ends(body: dict[str, Any]) -> dict[str, Any]:
    """An Alertmanager alert without ``endsAt`` (a re-send moves it ahead)."""
    return {name: value for name, value in body.items() if name != "endsAt"}


async def test_members_are_not_resent_before_the_group_alert_then_the_group_is(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    settings = _settings(kafka_bootstrap, opensearch_url, tmp_path)
    async with http_receiver() as receiver:
        # The group stays open over many re-send periods: deciding both matches and five
        # timer runs take about a second, on a loaded 2-core machine too.
        rule = am_rule(receiver.url, "5s")
        async with (
            topics(settings) as producer,
            alerting(settings, rule, None, FAST_RESEND_S) as service,
        ):
            aggregator = service.aggregator
            assert aggregator is not None
            await Events(producer, settings.topic_normalized, "svc-a").send(2)
            await Events(producer, settings.topic_normalized, "svc-b").send(2)
            await until(lambda: service.handled == 2, "both firing matches decided")
            assert service.actions == ["aggregated", "aggregated"]
            ticks = service.resend_ticks
            await until(lambda: service.resend_ticks >= ticks + 5, "five re-send timer runs")
            assert aggregator.sent == 0  # the group is still open: nothing may have gone out
            assert receiver.requests == []
            assert service.resent == 0
            await until(lambda: aggregator.sent == 1, "the group sent")
            await until(lambda: service.resent >= 2, "two re-sends of the group alert")
            bodies = [r.body for r in receiver.requests]
            assert all(len(body) == 1 for body in bodies)
            group = bodies[0][0]
            assert group["labels"]["key"] == "all"  # the group's, not its first match's
            # The group's alert (both matches, four events), not the member alert of svc-a.
            assert "4 event(s) between" in group["annotations"]["description"]
            assert "num_matches: 2" in group["annotations"]["description"]
            assert len(bodies) >= 3
            assert all(without_ends(body[0]) == without_ends(group) for body in bodies)


async def test_a_group_incident_resolves_when_every_key_in_it_resolved(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    settings = _settings(kafka_bootstrap, opensearch_url, tmp_path)
    async with http_receiver() as receiver:
        rule = am_rule(
            receiver.url,
            "3s",
            alert=["pagerduty", "alertmanager"],
            pagerduty_service_key="routing-1",
            pagerduty_events_url=f"{receiver.url}/pd",
        )

        def pagerduty() -> list[dict[str, Any]]:
            return [r.body for r in receiver.requests if r.path == "/pd"]

        def alertmanager() -> list[dict[str, Any]]:
            return [r.body[0] for r in receiver.requests if r.path == "/api/v2/alerts"]

        async with (
            topics(settings) as producer,
            alerting(settings, rule, None, FAST_RESEND_S) as service,
        ):
            aggregator = service.aggregator
            assert aggregator is not None
            await Events(producer, settings.topic_normalized, "svc-a").send(2)
            await Events(producer, settings.topic_normalized, "svc-b").send(2)
            await until(lambda: aggregator.sent == 1, "the group sent")
            [trigger] = pagerduty()
            assert {k: trigger[k] for k in ("routing_key", "event_action", "dedup_key")} == {
                "routing_key": "routing-1",
                "event_action": "trigger",
                "dedup_key": "agg-am",
            }
            details = trigger["payload"]["custom_details"]
            assert (details["rule"], details["key"], details["count"]) == ("agg-am", "all", 4)
            firing = alertmanager()[0]
            assert firing["labels"] == {
                "alertname": "agg-am",
                "rule": "agg-am",
                "key": "all",
                "severity": "error",
            }
            # svc-b resolves: svc-a still fires into the incident, nothing is resolved.
            await Events(producer, settings.topic_normalized, "svc-b").recover()
            await until(lambda: service.handled == 3, "svc-b's resolve decided")
            assert service.actions[-1] == "aggregated"
            ticks = service.resend_ticks
            await until(lambda: service.resend_ticks >= ticks + 3, "three re-send timer runs")
            assert pagerduty() == [trigger]
            assert all(
                not b["annotations"]["summary"].startswith("[RESOLVED]") for b in alertmanager()
            )
            # svc-a resolves: the last key of the incident, which resolves as it was sent.
            await Events(producer, settings.topic_normalized, "svc-a").recover()
            await until(lambda: len(pagerduty()) == 2, "the incident resolved")
            await until(lambda: service.handled == 4, "svc-a's resolve decided")
            assert pagerduty()[1] == {
                "routing_key": "routing-1",
                "event_action": "resolve",
                "dedup_key": "agg-am",
            }
            resolved = alertmanager()[-1]
            assert resolved["labels"] == firing["labels"]
            assert resolved["annotations"]["summary"].startswith("[RESOLVED] ")
            assert resolved["startsAt"] == firing["startsAt"]
            # Resolved: no re-send follows.
            settled = len(receiver.requests)
            ticks = service.resend_ticks
            await until(lambda: service.resend_ticks >= ticks + 3, "three re-send timer runs")
            assert len(receiver.requests) == settled
            await until(lambda: not list(aggregator.table.keys()), "the incident removed")
