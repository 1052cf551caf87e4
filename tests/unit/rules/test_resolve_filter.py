"""resolve_filter (a Bitácora extension): a recovery event resolves its key's firing alert.

Exercised on the shipped ``health-check-failed`` rule: the pure engine, then the detect
stages (route → keyed records → evaluate) with the state in a table that a restarted
detector reads again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bitacora.processors.alerting.detector import Detector
from bitacora.processors.alerting.keyed_records import RESOLVE_WEIGHT
from bitacora.processors.alerting.state_cache import StateCache
from bitacora.processors.normalize import to_json_bytes
from bitacora.rules.model import Rule
from bitacora.rules.replay import Engine
from bitacora.rules.types import Match
from bitacora.settings import Settings
from tests.unit.rules.single_records import decode
from tests.unit.rules.util import T0, stamp

SHIPPED = Path(__file__).parents[3] / "rules" / "shipped" / "health_check_failed.yaml"
RULE = "health-check-failed"


def shipped() -> Rule:
    return Rule.model_validate(yaml.safe_load(SHIPPED.read_text()))


def check(offset: float, service: str, status: str, **extra: Any) -> dict[str, Any]:
    """A normalized health-check line about ``service`` at ``T0 + offset``."""
    event: dict[str, Any] = {
        "@timestamp": stamp(offset),
        "service.name": "health-check",
        "message": f"{service}: {status.upper()}",
        "labels": {"check": {"service": service, "status": status}},
    }
    event.update(extra)
    return event


def summary(matches: list[Match]) -> list[tuple[str, str, str]]:
    return [(m.rule, m.key, m.status) for m in matches]


def test_the_ok_line_resolves_the_failed_service_at_once_and_only_it() -> None:
    engine = Engine([shipped()], lateness_s=0)
    now = T0 + 10**6
    assert summary(engine.process(check(0, "order-service", "fail"), now)) == [
        (RULE, "order-service", "firing")
    ]
    assert summary(engine.process(check(1, "db", "fail"), now)) == [(RULE, "db", "firing")]
    # Another service's OK line resolves nothing; the failed one's resolves it, once.
    assert engine.process(check(60, "user-service", "ok"), now) == []
    [resolved] = engine.process(check(61, "order-service", "ok"), now)
    assert (resolved.key, resolved.status, resolved.count) == ("order-service", "resolved", 0)
    assert (resolved.first_ts, resolved.last_ts) == (T0, T0 + 61)
    assert resolved.event["message"] == "order-service: OK"
    assert engine.process(check(62, "order-service", "ok"), now) == []
    # db resolves by its window only; order-service has nothing left to resolve.
    assert summary(engine.tick(T0 + 1 + 600)) == [(RULE, "db", "resolved")]
    # A new failure after the recovery pages again.
    assert summary(engine.process(check(900, "order-service", "fail"), now)) == [
        (RULE, "order-service", "firing")
    ]


def test_an_ok_line_with_nothing_firing_is_a_no_op_and_keeps_no_state() -> None:
    engine = Engine([shipped()], lateness_s=0)
    assert engine.process(check(0, "order-service", "ok"), T0) == []
    assert engine.states == {}
    # A warning is neither a failure nor a recovery.
    engine.process(check(1, "order-service", "fail"), T0)
    assert engine.process(check(2, "order-service", "warn"), T0) == []
    assert summary(engine.process(check(3, "order-service", "ok"), T0)) == [
        (RULE, "order-service", "resolved")
    ]


def test_a_recovery_older_than_the_failure_does_not_resolve_it() -> None:
    engine = Engine([shipped()], lateness_s=60)
    engine.process(check(30, "order-service", "fail"), T0 + 30)
    assert engine.process(check(20, "order-service", "ok"), T0 + 30) == []
    assert summary(engine.process(check(40, "order-service", "ok"), T0 + 40)) == [
        (RULE, "order-service", "resolved")
    ]


def test_an_event_matching_filter_and_resolve_filter_counts_as_a_match() -> None:
    rule = Rule.model_validate(
        {
            "name": "r",
            "type": "frequency",
            "num_events": 2,
            "timeframe": "1m",
            "query_key": "host",
            "filter": [{"term": {"level": "error"}}],
            "resolve_filter": [{"exists": {"field": "level"}}],
        }
    )
    engine = Engine([rule], lateness_s=0)
    error = {"@timestamp": stamp(0), "level": "error", "host": "h"}
    assert engine.process(error, T0) == []
    assert summary(engine.process({**error, "@timestamp": stamp(1)}, T0)) == [("r", "h", "firing")]
    # An info line resolves, and the window starts afresh: one error is not a match.
    info = {"@timestamp": stamp(2), "level": "info", "host": "h"}
    assert summary(engine.process(info, T0)) == [("r", "h", "resolved")]
    assert engine.process({**error, "@timestamp": stamp(3)}, T0) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"type": "any"}, "resolve_filter is not available for rule type 'any'"),
        (
            {"type": "frequency", "num_events": 1, "timeframe": "1m", "resolve": False},
            "resolve_filter needs resolve: true",
        ),
    ],
)
def test_resolve_filter_is_refused_where_nothing_can_resolve(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Rule.model_validate({"name": "r", "resolve_filter": [{"match_all": {}}], **options})


def test_detect_stages_resolve_through_a_restart_and_end_the_realert_period() -> None:
    settings = Settings(allowed_lateness_s=0, topic_partitions=3)
    table: dict[bytes, bytes] = {}
    now = T0 + 10**6

    def run(detector: Detector, *events: dict[str, Any]) -> list[tuple[str, str, str]]:
        values = [to_json_bytes(event) for event in events]
        routed, batch = detector.route_values(values, now)
        records = [value for _, value in batch.records()]
        alerts = routed + detector.evaluate_values(StateCache(), table, records, now)
        return [(a.rule, a.key, a.status) for a in alerts]

    first = Detector([shipped()], settings)
    assert run(first, check(0, "order-service", "fail"), check(1, "user-service", "ok")) == [
        (RULE, "order-service", "firing")
    ]
    # Only the failing service has state; the OK line of another left none.
    assert [json.loads(v)["key"] for v in table.values()] == ["order-service"]
    # The recovery travels as a resolve item of the rule's key.
    _, batch = first.route_values([to_json_bytes(check(5, "order-service", "ok"))], now)
    [(_, value)] = batch.records()
    assert [item[:3] for item in decode(value)] == [(RULE, "order-service", RESOLVE_WEIGHT)]
    # A restarted detector reads the state back: the OK line resolves at once, and a
    # failure right after pages again (the realert hour ended with the resolve).
    second = Detector([shipped()], settings)
    assert run(second, check(5, "order-service", "ok")) == [(RULE, "order-service", "resolved")]
    assert run(second, check(6, "order-service", "ok")) == []
    assert run(second, check(7, "order-service", "fail"), check(8, "order-service", "ok")) == [
        (RULE, "order-service", "firing"),
        (RULE, "order-service", "resolved"),
    ]
