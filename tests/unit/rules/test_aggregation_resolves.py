"""Firing before resolved under ``aggregation``: a resolve waits in the group holding its
key's firing match and is sent right after that group's alert."""

from __future__ import annotations

import asyncio

from bitacora.processors.alerting.aggregate_stage import Aggregator
from bitacora.rules.aggregation import closing, hold, holding_group, join
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


def _alerts(rule: Rule) -> tuple[Alert, Alert]:
    """A firing alert of user-service and its resolve, 30 s later (no aggregation)."""
    plain = rule.model_copy(update={"aggregation": None})
    events = [ev(0), ev(1), ev(30, **{"log.level": "info"})]
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
    assert [(a.status, a.extra.get("num_matches")) for a in alerts] == [
        ("firing", 1),
        ("resolved", None),
    ]


def test_the_group_closing_last_holds_the_resolve_and_a_refire_drops_it() -> None:
    rule = parse_rule_text(RULE)
    firing, resolved = _alerts(rule)
    other = firing.model_copy(update={"key": "other", "dedup_key": "agg-res.other", "id": "o"})
    groups = [("a", (300.0, [firing])), ("b", (400.0, [firing])), ("c", (900.0, [other]))]
    assert holding_group(groups, resolved) == "b"
    assert holding_group(groups[2:], resolved) is None
    group = hold((300.0, [firing]), resolved)
    assert closing(group[1], rule)[1:] == [resolved]
    assert closing(group[1], rule)[0].status == "firing"
    sent, joined = join(group, firing, rule, 100.0)  # the key fires again, same group
    assert (sent, joined) == ([], (300.0, [firing, firing]))
    # Joining after the period: the group closes, its alert then the resolve.
    sent, _ = join(group, other, rule, 300.0)
    assert [a.status for a in sent] == ["firing", "resolved"]


def test_the_stream_holds_a_resolve_once_and_sends_it_after_the_group() -> None:
    rule = parse_rule_text(RULE)
    firing, resolved = _alerts(rule)
    sent: list[Alert] = []

    async def send(alert: Alert, _rule: Rule) -> None:
        sent.append(alert)

    table: dict[bytes, bytes] = {}
    aggregator = Aggregator(table, {rule.name: rule}, send)

    async def scenario() -> list[bool]:
        held = [await aggregator.hold(resolved, rule)]  # no group yet: send it now
        await aggregator.add(firing, rule, 100.0)
        held.append(await aggregator.hold(resolved, rule))
        held.append(await aggregator.hold(resolved, rule))  # redelivered after a crash
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
