"""Health events: figures read from a registry, the record they make, and the shipped
``bitacora-*`` rules firing on them once normalized."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily

from bitacora.processors.normalize.core import normalize
from bitacora.processors.shell.health_events import RoleHealth, health_record, read_health
from bitacora.rules.engine import compile_rule
from bitacora.rules.loader import SHIPPED_DIR, load_rule_file
from tests.unit.rules.util import T0, Runner


class _Lag:
    def collect(self) -> list[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "bitacora_consumer_lag", "", labels=["role", "topic", "partition"]
        )
        family.add_metric(["index", "logs.normalized", "0"], 7)
        family.add_metric(["index", "logs.normalized", "1"], 5)
        return [family]


def test_read_health_sums_per_role() -> None:
    registry = CollectorRegistry()
    registry.register(_Lag())  # type: ignore[arg-type]  # a duck-typed collector
    events_in = Counter("bitacora_events_in", "", ["role"], registry=registry)
    deadletters = Counter("bitacora_deadletters", "", ["role", "reason"], registry=registry)
    failed = Counter("bitacora_notifications_failed", "", ["destination"], registry=registry)
    events_in.labels("index").inc(100)
    deadletters.labels("index", "mapping").inc(2)
    deadletters.labels("index", "too_large").inc(1)
    deadletters.labels("normalize", "undecodable").inc(9)
    failed.labels("slack").inc(4)
    assert read_health(registry, ["index", "alerting-route"]) == {
        "index": RoleHealth(lag=12, events_in=100, deadletters=3),
        "alerting-route": RoleHealth(notifications_failed=4),
    }


def test_health_record_reports_what_changed() -> None:
    before = RoleHealth(lag=100, events_in=10, deadletters=1)
    now = RoleHealth(lag=150, events_in=30, deadletters=4, notifications_failed=0)
    raw = health_record("alerting-route", now, before, "pod-1:7", 1_800_000_000_000_000_000, 3)
    assert raw.tag == "bitacora.health"
    assert raw.chunk == "pod-1:7/alerting/3"
    assert raw.record == {
        "service": "bitacora",
        "event.dataset": "bitacora.health",
        "level": "warn",
        "message": "bitacora alerting on pod-1:7: lag 150 (+50), 20 read, 3 dead-lettered, "
        "0 notifications failed",
        "role": "alerting",
        "worker": "pod-1:7",
        "lag": 150,
        "lag_growth": 50,
        "events_in_new": 20,
        "deadletters_new": 3,
        "notifications_sent_new": 0,
        "notifications_failed_new": 0,
    }


def _events(role: str, figures: list[RoleHealth]) -> list[dict[str, object]]:
    events = []
    before = RoleHealth()
    for i, now in enumerate(figures):
        raw = health_record(role, now, before, "w:1", int((T0 + 60 * i) * 1e9), i)
        events.append(normalize(raw, 0, i))
        before = now
    return events


def _fired(rule_file: str, events: list[dict[str, object]]) -> list[int]:
    crule = compile_rule(load_rule_file(SHIPPED_DIR / rule_file), 0.0)
    runner = Runner(crule)
    return [i for i, event in enumerate(events) if runner.feed(event, T0 + 3600)]


def test_deadletters_rising_fires_on_the_third_report_with_new_letters() -> None:
    figures = [RoleHealth(deadletters=n) for n in (0, 1, 1, 2, 5)]
    events = _events("normalize", figures)
    assert events[1]["labels"]["deadletters_new"] == 1  # type: ignore[index]
    assert events[1]["service.name"] == "bitacora"
    assert _fired("bitacora_deadletters_rising.yaml", events) == [4]


def test_lag_growing_needs_five_growing_reports_over_ten_thousand() -> None:
    lags = [9_000, 12_000, 13_000, 13_000, 14_000, 15_000, 16_000, 17_000]
    events = _events("index", [RoleHealth(lag=n) for n in lags])
    # Qualifying reports: 1, 2, 4, 5, 6 (report 3 did not grow; report 0 is under 10000).
    assert _fired("bitacora_lag_growing.yaml", events) == [6]


def test_notifications_failing_fires_on_the_second_failing_report() -> None:
    figures = [RoleHealth(notifications_failed=n) for n in (0, 2, 2, 3)]
    assert _fired("bitacora_notifications_failing.yaml", _events("alerting-route", figures)) == [3]
