"""The stream's aggregation shell over a plain dict table: joins, redelivery, flush."""

from __future__ import annotations

import asyncio

from bitacora.processors.alerting.aggregate_stage import Aggregator
from bitacora.processors.alerting.notify_stage import NotifyService
from bitacora.rules.alerts import Alert
from bitacora.rules.loader import parse_rule_text
from bitacora.rules.model import Rule
from bitacora.rules.replay import run_rules_over
from bitacora.settings import Settings
from tests.unit.rules.util import ev

RULE = "name: agg\ntype: any\naggregation: {seconds: 5}\naggregation_key: service.name\n"


def test_a_redelivered_match_joins_once_and_equal_ids_still_count() -> None:
    rule = parse_rule_text(RULE)
    plain = rule.model_copy(update={"aggregation": None})
    # Two distinct events at the same time: alerts with one id, different events.
    first, second = run_rules_over(
        [ev(0, **{"event.id": "a"}), ev(0, **{"event.id": "b"})],
        [plain],
        lateness_s=0,
        apply_realert=False,
    )
    assert first.id == second.id
    sent: list[Alert] = []

    async def send(alert: Alert, _rule: Rule) -> None:
        sent.append(alert)

    table: dict[bytes, bytes] = {}
    aggregator = Aggregator(table, {"agg": rule}, send)

    async def scenario() -> None:
        await aggregator.add(first, rule, 100.0)
        await aggregator.add(second, rule, 100.5)
        await aggregator.add(first, rule, 100.0)  # redelivered after a crash
        await aggregator.flush(lambda _key: True, 104.9)
        assert sent == []
        await aggregator.flush(lambda _key: False, 105.0)  # another worker's key
        assert sent == []
        await aggregator.flush(lambda _key: True, 105.0)

    asyncio.run(scenario())
    assert [(a.count, a.extra["num_matches"]) for a in sent] == [(2, 2)]
    assert (table, aggregator.sent) == ({}, 1)


def test_reloaded_rules_reach_the_aggregator() -> None:
    """A rule added by a reload has its groups sent (not dropped as unknown)."""
    service = NotifyService(Settings(), [], None, None, None, "silences")

    async def send(_alert: Alert, _rule: Rule) -> None:
        return None

    service.aggregator = Aggregator({}, service.rules, send)
    rule = parse_rule_text(RULE)
    service.rules = {"agg": rule}  # what the alerting role's reload does
    assert service.aggregator.rules == {"agg": rule}
