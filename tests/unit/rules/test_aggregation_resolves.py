"""Resolves under ``aggregation``: one incident per group identity (rule and
``aggregation_key`` value), resolved once every key that fired into it resolved; a resolve
of a key waiting in an open group is applied right after that group's alert."""

from __future__ import annotations

import asyncio

from bitacora.processors.alerting.aggregate_stage import Aggregator
from bitacora.rules.aggregation import Incident, closing, join, resolve
from bitacora.rules.alerts import Alert
from bitacora.rules.loader import parse_rule_text
from bitacora.rules.model import Rule
from bitacora.rules.replay import run_rules_over
from tests.unit.rules.util import ev

RULE = """
name: agg-res
type: frequency
num_events: 2
timeframe: {hours: 1}
query_key: service.name
filter: [{term: {log.level: error}}]
resolve_filter: [{term: {log.level: info}}]
aggregation: {minutes: 5}
aggregation_key: service.name
realert: {minutes: 0}
"""


def _alerts(rule: Rule, service: str = "user-service") -> tuple[Alert, Alert]:
    """A firing alert of ``service`` and its resolve, 30 s later (no aggregation)."""
    plain = rule.model_copy(update={"aggregation": None})
    events = [ev(0), ev(1), ev(30, **{"log.level": "info"})]
    events = [{**e, "service.name": service} for e in events]
    firing, resolved = run_rules_over(events, [plain], lateness_s=0)
    assert (firing.status, resolved.status) == ("firing", "resolved")
    return firing, resolved


def test_a_replay_sends_the_resolve_after_the_group_alert() -> None:
    rule = parse_rule_text(RULE)
    events = [ev(0), ev(1), ev(30, **{"log.level": "info"}), ev(40), ev(41)]
    alerts = run_rules_over(events, [rule], lateness_s=0)
    # The key fired at 1 s (group until 301 s), resolved at 30 s and fired again at 41 s
    # into the same group: one group alert of both matches; the held resolve is dropped.
    assert [(a.status, a.extra.get("num_matches")) for a in alerts] == [("firing", 2)]
    alerts = run_rules_over(events[:3], [rule], lateness_s=0)
    # The resolve is the group alert's: same key and dedup key.
    assert [(a.status, a.dedup_key, a.extra.get("num_matches")) for a in alerts] == [
        ("firing", "agg-res.user-service", 1),
        ("resolved", "agg-res.user-service", 1),
    ]


def test_one_incident_per_group_resolved_by_its_last_key() -> None:
    rule = parse_rule_text(RULE).model_copy(update={"aggregation_key": None})
    a_fires, a_resolves = _alerts(rule, "svc-a")
    b_fires, b_resolves = _alerts(rule, "svc-b")
    sent, known = join(None, a_fires, rule, 100.0)
    sent, known = join(known, b_fires, rule, 101.0)
    assert sent == []
    sent, known = closing(known, rule)
    assert [(a.status, a.key, a.dedup_key, a.extra["num_matches"]) for a in sent] == [
        ("firing", "all", "agg-res", 2)
    ]
    assert known == Incident(firing=("agg-res.svc-a", "agg-res.svc-b"), sent=sent[0])
    # Another key of the group resolving resolves nothing the destination holds.
    out, known, concerned = resolve(known, b_resolves)
    assert (out, known.firing, concerned) == ([], ("agg-res.svc-a",), True)
    out, known, concerned = resolve(known, a_resolves)
    assert [(a.status, a.key, a.dedup_key) for a in out] == [("resolved", "all", "agg-res")]
    assert (known.finished(), concerned) == (True, True)
    assert out[0].event == sent[0].event  # what the destination got, as resolved
    # A key that never fired into the incident is not its concern.
    assert resolve(Incident(), a_resolves) == ([], Incident(), False)


def test_held_resolves_apply_after_the_group_alert_and_a_refire_drops_them() -> None:
    rule = parse_rule_text(RULE).model_copy(update={"aggregation_key": None})
    a_fires, a_resolves = _alerts(rule, "svc-a")
    b_fires, _ = _alerts(rule, "svc-b")
    _, known = join(None, a_fires, rule, 100.0)
    _, known = join(known, b_fires, rule, 101.0)
    out, held, concerned = resolve(known, a_resolves)
    assert (out, held.members, concerned) == ([], (a_fires, b_fires, a_resolves), True)
    assert resolve(held, a_resolves) == ([], held, True)  # redelivered: held once
    sent, after = closing(held, rule)
    assert [a.status for a in sent] == ["firing"]  # svc-b still fires
    assert after.firing == ("agg-res.svc-b",)
    _, refired = join(held, a_fires, rule, 102.0)  # svc-a fires again into the group
    assert refired.members == (a_fires, b_fires, a_fires)
    # Every key resolved while waiting: the group's alert, then its resolve.
    _, alone = join(None, a_fires, rule, 100.0)
    _, alone, _ = resolve(alone, a_resolves)
    sent, after = join(alone, b_fires, rule, 400.0)  # after the period: the group closes
    assert [(a.status, a.dedup_key) for a in sent] == [
        ("firing", "agg-res"),
        ("resolved", "agg-res"),
    ]
    assert (after.until, after.firing) == (700.0, ())


def test_the_stream_holds_a_resolve_once_and_sends_it_after_the_group() -> None:
    rule = parse_rule_text(RULE)
    firing, resolved = _alerts(rule)
    sent: list[Alert] = []

    async def send(alert: Alert, _rule: Rule) -> None:
        sent.append(alert)

    table: dict[bytes, bytes] = {}
    aggregator = Aggregator(table, {rule.name: rule}, send)

    async def scenario() -> list[bool]:
        held = [await aggregator.resolve(resolved, rule)]  # no group yet: send it now
        await aggregator.add(firing, rule, 100.0)
        held.append(await aggregator.resolve(resolved, rule))
        held.append(await aggregator.resolve(resolved, rule))  # redelivered after a crash
        await aggregator.flush(lambda _key: True, 399.9)
        assert sent == []
        await aggregator.flush(lambda _key: True, 400.0)
        return held

    assert asyncio.run(scenario()) == [False, True, True]
    assert [(a.status, a.key) for a in sent] == [
        ("firing", "user-service"),
        ("resolved", "user-service"),
    ]
    assert (table, aggregator.sent) == ({}, 1)


def test_the_stream_keeps_a_sent_incident_until_its_last_key_resolves() -> None:
    rule = parse_rule_text(RULE).model_copy(update={"aggregation_key": None})
    a_fires, a_resolves = _alerts(rule, "svc-a")
    b_fires, b_resolves = _alerts(rule, "svc-b")
    sent: list[Alert] = []

    async def send(alert: Alert, _rule: Rule) -> None:
        sent.append(alert)

    table: dict[bytes, bytes] = {}
    aggregator = Aggregator(table, {rule.name: rule}, send)

    async def scenario() -> None:
        await aggregator.add(a_fires, rule, 100.0)
        await aggregator.add(b_fires, rule, 101.0)
        await aggregator.flush(lambda _key: True, 400.0)
        resent: list[Alert] = []

        async def resend(alert: Alert, _rule: Rule) -> None:
            resent.append(alert)

        await aggregator.resend_firing(lambda _key: False, resend)  # another worker's key
        assert resent == []
        await aggregator.resend_firing(lambda _key: True, resend)
        assert resent == sent
        assert await aggregator.resolve(a_resolves, rule)
        assert len(sent) == 1
        assert await aggregator.resolve(b_resolves, rule)
        await aggregator.resend_firing(lambda _key: True, resend)  # resolved: no re-send
        assert resent == sent[:1]

    asyncio.run(scenario())
    assert [(a.status, a.dedup_key) for a in sent] == [
        ("firing", "agg-res"),
        ("resolved", "agg-res"),
    ]
    assert (table, aggregator.sent) == ({}, 1)
