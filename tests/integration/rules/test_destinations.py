"""Destinations against real local receivers: payload shapes, Retry-After, email, injection."""

from __future__ import annotations

import email
import email.policy
import logging
import time
from typing import Any

import aiohttp
import pytest

from bitacora.durations import parse_timestamp
from bitacora.rules.alerts import Alert, build_alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations.alertmanager import FIRING_TTL_S
from bitacora.rules.notify.notifier import Notifier
from bitacora.rules.notify.retry import RetryPolicy
from bitacora.rules.types import Match
from bitacora.settings import Settings
from tests.integration.rules.receivers import http_receiver, smtp_receiver
from tests.unit.rules.util import T0, ev

NASTY = "{{ 7*7 }} {% for x in range(3) %}loop{% endfor %} <script>alert(1)</script>"
FAST = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2, jitter=0.1)


def rule(**options: Any) -> Rule:
    base: dict[str, Any] = {
        "name": "error-burst",
        "type": "frequency",
        "num_events": 3,
        "timeframe": "1m",
        "query_key": "service.name",
    }
    base.update(options)
    return Rule.model_validate(base)


def alert_for(r: Rule, status: str = "firing", **fields: Any) -> Alert:
    event = ev(2, message=NASTY, **fields)
    match = Match(r.name, "user-service", status, event, 3, T0, T0 + 2, [event])  # type: ignore[arg-type]
    return build_alert(match, r, "http://dash.local", now=T0 + 3)


async def test_webhook_default_payload_is_the_event_and_literal(
    session: aiohttp.ClientSession,
) -> None:
    async with http_receiver() as receiver:
        r = rule(alert=["post"], http_post_url=f"{receiver.url}/hook")
        alert = alert_for(r)
        report = await Notifier(Settings(), session, FAST).deliver(alert, r)
        assert (report.sent, report.failed) == (["post"], {})
        [request] = receiver.requests
        assert request.path == "/hook"
        assert request.body == alert.event
        assert request.body["message"] == NASTY
        assert request.headers["Content-Type"] == "application/json"


async def test_webhook_payload_static_payload_and_headers(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        r = rule(
            alert="post",
            http_post_url=receiver.url,
            http_post_payload={"svc": "service.name", "text": "message", "none": "no.such"},
            http_post_static_payload={"team": "payments"},
            http_post_headers={"X-Token": "t0k"},
        )
        await Notifier(Settings(), session, FAST).deliver(alert_for(r), r)
        [request] = receiver.requests
        assert request.body == {
            "svc": "user-service",
            "text": NASTY,
            "none": None,
            "team": "payments",
        }
        assert request.headers["X-Token"] == "t0k"


async def test_slack_payload_and_retry_after_honoured(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        receiver.replies = [(429, {"Retry-After": "1"})]
        r = rule(alert="slack", slack_webhook_url=f"{receiver.url}/services/T/B/x")
        report = await Notifier(Settings(), session, FAST).deliver(alert_for(r), r)
        assert report.sent == ["slack"]
        first, second = receiver.requests
        assert second.at - first.at >= 1.0
        body = second.body
        assert sorted(body) == ["blocks", "text"]
        assert body["text"] == "Bitácora: error-burst (user-service)"
        assert [block["type"] for block in body["blocks"]] == ["header", "section", "context"]
        section = body["blocks"][1]["text"]["text"]
        assert "{{ 7*7 }} {% for x in range(3) %}loop{% endfor %} &lt;script&gt;" in section


async def test_503_retry_after_then_permanent_400(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        receiver.replies = [(503, {"Retry-After": "1"}), (400, {})]
        r = rule(alert="post", http_post_url=receiver.url)
        report = await Notifier(Settings(), session, FAST).deliver(alert_for(r), r)
        assert report.sent == []
        assert report.permanent == ["post"]
        assert report.retry == []
        assert len(receiver.requests) == 2
        assert receiver.requests[1].at - receiver.requests[0].at >= 1.0


async def test_exhausted_retries_are_reported_for_a_later_retry(
    session: aiohttp.ClientSession,
) -> None:
    async with http_receiver() as receiver:
        receiver.replies = [(500, {})] * 3
        r = rule(alert="post", http_post_url=receiver.url)
        report = await Notifier(Settings(), session, FAST).deliver(alert_for(r), r)
        assert report.retry == ["post"]
        assert report.failed["post"].endswith("answered HTTP 500")
        assert "127.0.0.1" in report.failed["post"]
        assert len(receiver.requests) == 3


async def test_unreachable_destination_is_kept_for_retry(session: aiohttp.ClientSession) -> None:
    from bench.procs import free_port

    r = rule(alert="post", http_post_url=f"http://127.0.0.1:{free_port()}/x")
    report = await Notifier(Settings(), session, FAST).deliver(alert_for(r), r)
    assert report.retry == ["post"]


async def test_pagerduty_v2_trigger_and_resolve(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        r = rule(
            alert="pagerduty",
            pagerduty_service_key="R0UT1NGKEY",
            pagerduty_events_url=f"{receiver.url}/v2/enqueue",
        )
        notifier = Notifier(Settings(), session, FAST)
        firing = alert_for(r)
        await notifier.deliver(firing, r)
        await notifier.deliver(alert_for(r, status="resolved"), r)
        trigger, resolve = receiver.requests
        assert trigger.path == "/v2/enqueue"
        assert trigger.body == {
            "routing_key": "R0UT1NGKEY",
            "event_action": "trigger",
            "dedup_key": "error-burst.user-service",
            "client": "Bitácora",
            "client_url": firing.search_url,
            "payload": {
                "summary": "Bitácora: error-burst (user-service)",
                "source": "user-service",
                "severity": "error",
                "timestamp": "2027-01-15T08:00:02.000Z",
                "custom_details": {
                    "rule": "error-burst",
                    "key": "user-service",
                    "count": 3,
                    "first_event_time": "2027-01-15T08:00:00.000Z",
                    "last_event_time": "2027-01-15T08:00:02.000Z",
                    "search_query": 'service.name:"user-service"',
                    "search_command": firing.search_command,
                    "details": trigger.body["payload"]["custom_details"]["details"],
                },
            },
        }
        assert NASTY in trigger.body["payload"]["custom_details"]["details"]
        assert resolve.body == {
            "routing_key": "R0UT1NGKEY",
            "event_action": "resolve",
            "dedup_key": "error-burst.user-service",
        }


async def test_alertmanager_v2_firing_and_resolved(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as dead, http_receiver() as receiver:
        dead.replies = [(500, {})] * 10
        r = rule(
            alert="alertmanager",
            alertmanager_hosts=[dead.url, receiver.url],
            alertmanager_labels={"team": "payments"},
            alertmanager_fields={"level": "log.level"},
        )
        notifier = Notifier(Settings(), session, RetryPolicy(attempts=1))
        report = await notifier.deliver(alert_for(r), r)
        assert report.sent == ["alertmanager"]
        await notifier.deliver(alert_for(r, status="resolved"), r)
        firing, resolved = receiver.requests
        now = time.time()
        assert firing.path == "/api/v2/alerts"
        [item] = firing.body
        assert sorted(item) == ["annotations", "endsAt", "generatorURL", "labels", "startsAt"]
        assert item["labels"] == {
            "alertname": "error-burst",
            "rule": "error-burst",
            "key": "user-service",
            "severity": "error",
            "team": "payments",
            "level": "error",
        }
        assert item["annotations"]["summary"] == "Bitácora: error-burst (user-service)"
        assert item["startsAt"] == "2027-01-15T08:00:00.000Z"
        # While firing, endsAt lies FIRING_TTL_S ahead (re-sent to extend it); on resolve, now.
        assert abs(parse_timestamp(item["endsAt"]) - (now + FIRING_TTL_S)) < 5
        [closed] = resolved.body
        assert closed["labels"] == item["labels"]
        assert closed["annotations"]["summary"] == "[RESOLVED] Bitácora: error-burst (user-service)"
        assert abs(parse_timestamp(closed["endsAt"]) - now) < 5


async def test_alertmanager_every_member_of_a_cluster_gets_each_alert(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    # Alertmanager's members share silences and notification logs, not alerts: each host
    # is sent each alert, as ElastAlert2 and Prometheus do. One host taking it delivers.
    async with http_receiver() as one, http_receiver() as two, http_receiver() as dead:
        dead.replies = [(500, {})] * 10
        r = rule(
            alert="alertmanager",
            alertmanager_hosts=[one.url, dead.url, two.url],
            alertmanager_basic_auth_login="bitacora",
            alertmanager_basic_auth_password="s3cret",
        )
        notifier = Notifier(Settings(), session, RetryPolicy(attempts=1))
        with caplog.at_level(logging.WARNING, logger="bitacora.notify"):
            firing = await notifier.deliver(alert_for(r), r)
            resolved = await notifier.deliver(alert_for(r, status="resolved"), r)
        # The host that refused, named as shown_url shows it (a URL may carry secrets).
        assert [m.split(" did not take ")[0] for m in caplog.messages] == [
            f"alertmanager {dead.url}/…"
        ] * 2
        assert (
            (firing.sent, firing.failed)
            == (resolved.sent, resolved.failed)
            == (
                ["alertmanager"],
                {},
            )
        )
        for host in (one, two, dead):
            assert [request.path for request in host.requests] == ["/api/v2/alerts"] * 2
            assert [request.body[0]["labels"]["key"] for request in host.requests] == [
                "user-service",
                "user-service",
            ]
            # ElastAlert2's alertmanager_basic_auth_* options: HTTP basic auth, every host.
            assert {request.headers["Authorization"] for request in host.requests} == {
                "Basic Yml0YWNvcmE6czNjcmV0"  # base64 of "bitacora:s3cret"
            }
        assert one.requests[1].body == two.requests[1].body
        # No host taking it is a failed delivery (kept for a later retry).
        r = rule(alert="alertmanager", alertmanager_hosts=[dead.url])
        report = await notifier.deliver(alert_for(r), r)
        assert (report.sent, list(report.failed)) == ([], ["alertmanager"])


async def test_resolve_goes_only_to_destinations_that_take_it(
    session: aiohttp.ClientSession,
) -> None:
    async with http_receiver() as receiver:
        r = rule(
            alert=["post", "pagerduty"],
            http_post_url=receiver.url,
            pagerduty_service_key="k",
            pagerduty_events_url=f"{receiver.url}/pd",
        )
        report = await Notifier(Settings(), session, FAST).deliver(
            alert_for(r, status="resolved"), r
        )
        assert report.sent == ["pagerduty"]
        assert [request.path for request in receiver.requests] == ["/pd"]


async def test_email_through_a_real_smtp_server(session: aiohttp.ClientSession) -> None:
    async with smtp_receiver() as (sink, port):
        settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="bitacora@flores.test")
        r = rule(
            alert="email",
            email=["oncall@flores.test"],
            cc=["lead@flores.test"],
            bcc=["audit@flores.test"],
            alert_subject="Burst in {0}",
            alert_subject_args=["service.name"],
        )
        report = await Notifier(settings, session, FAST).deliver(alert_for(r), r)
        assert report.sent == ["email"]
        [(sender, recipients, content)] = sink.messages
        assert sender == "bitacora@flores.test"
        assert recipients == ["oncall@flores.test", "lead@flores.test", "audit@flores.test"]
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert message["Subject"] == "Burst in user-service"
        assert message["To"] == "oncall@flores.test"
        assert message["Cc"] == "lead@flores.test"
        assert message["Bcc"] is None
        plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f"message: {NASTY}" in plain
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>" not in html


async def test_email_server_down_is_kept_for_retry(session: aiohttp.ClientSession) -> None:
    from bench.procs import free_port

    settings = Settings(smtp_host="127.0.0.1", smtp_port=free_port())
    r = rule(alert="email", email=["oncall@flores.test"])
    report = await Notifier(settings, session, FAST).deliver(alert_for(r), r)
    assert report.retry == ["email"]


async def test_long_retry_after_hands_the_alert_back_at_once(
    session: aiohttp.ClientSession,
) -> None:
    async with http_receiver() as receiver:
        receiver.replies = [(429, {"Retry-After": "120"})]
        r = rule(alert="slack", slack_webhook_url=receiver.url)
        report = await Notifier(Settings(), session, FAST).deliver(alert_for(r), r)
        assert (report.retry, report.retry_after) == (["slack"], 120.0)
        assert len(receiver.requests) == 1
