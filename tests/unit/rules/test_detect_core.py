"""The pure steps of the detect and notify agents, with a plain dict as the table."""

from __future__ import annotations

import json
from typing import Any

from bitacora.processors.alerting.detector import Detector
from bitacora.processors.alerting.keyed_records import SEP
from bitacora.processors.alerting.notify_stage import retry_delay
from bitacora.processors.alerting.state_cache import StateCache
from bitacora.processors.normalize import to_json_bytes
from bitacora.rules.model import Rule
from bitacora.settings import Settings
from tests.unit.rules.single_records import decode, evaluate, record, route_one
from tests.unit.rules.util import T0, ev


def rules() -> list[Rule]:
    return [
        Rule.model_validate(
            {
                "name": "burst",
                "type": "frequency",
                "num_events": 3,
                "timeframe": "1m",
                "query_key": "service.name",
                "filter": [{"term": {"log.level": "error"}}],
            }
        ),
        Rule.model_validate(
            {
                "name": "silent",
                "type": "flatline",
                "threshold": 1,
                "timeframe": "1m",
                "query_key": "service.name",
            }
        ),
        Rule.model_validate(
            {"name": "fatal", "type": "any", "filter": [{"term": {"log.level": "fatal"}}]}
        ),
    ]


class CountingTable(dict[bytes, bytes]):
    """A dict that counts writes, standing in for the Faust table."""

    writes = 0

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def test_route_forwards_keyed_records_aggregates_flatline_and_alerts_stateless() -> None:
    detector = Detector(rules(), Settings(allowed_lateness_s=0))
    alerts, records = route_one(detector, ev(0), T0)
    assert alerts == []
    assert sorted(key for key, _ in records) == [
        f"burst{SEP}user-service".encode(),
        f"silent{SEP}user-service".encode(),
    ]
    # Within a batch, flatline matches are counted per key and second (one weighted item).
    infos = [ev(offset, log__level="info") for offset in (0.1, 0.2, 0.9, 1.5)]
    alerts, batch = detector.route_values([to_json_bytes(e) for e in infos], T0)
    items = [item[:3] for _, value in batch.records() for item in decode(value)]
    assert alerts == []
    assert items == [("silent", "user-service", 3), ("silent", "user-service", 1)]
    alerts, _ = route_one(detector, ev(2, log__level="fatal"), T0)
    assert [(a.rule, a.status, a.dedup_key) for a in alerts] == [("fatal", "firing", "fatal")]


def test_evaluate_keeps_state_in_the_table_and_skips_unchanged_writes() -> None:
    detector = Detector(rules(), Settings(allowed_lateness_s=0))
    table = CountingTable()
    cache = StateCache()
    out = []
    for offset in (0, 1, 2):
        _, records = route_one(detector, ev(offset), T0 + 10)
        [burst] = [value for key, value in records if key.startswith(b"burst")]
        out += evaluate(detector, cache, table, burst, T0 + 10)
    assert [(a.rule, a.count) for a in out] == [("burst", 3)]
    state = json.loads(table[f"burst{SEP}user-service".encode()])
    assert state["fired_at"] == T0 + 2
    # Flatline: the same second twice is one write.
    slot = record("silent", "user-service", 1, ev(5))
    evaluate(detector, cache, table, slot[1], T0 + 10)
    writes = table.writes
    evaluate(detector, cache, table, record("silent", "user-service", 1, ev(5.5))[1], T0 + 10)
    assert table.writes == writes
    # A cold cache (a restarted worker) reads the same state back from the table.
    fresh = StateCache()
    assert fresh.load(table, f"burst{SEP}user-service".encode())[1] == state


def test_tick_all_resolves_fires_flatline_and_respects_ownership() -> None:
    detector = Detector(rules(), Settings(allowed_lateness_s=0))
    table: dict[bytes, bytes] = {}
    cache = StateCache()
    for offset in (0, 1, 2):
        evaluate(detector, cache, table, record("burst", "user-service", 1, ev(offset))[1], T0)
    evaluate(detector, cache, table, record("silent", "user-service", 1, ev(2))[1], T0)
    assert detector.tick_all(cache, table, lambda key: False, T0 + 100) == []
    alerts = detector.tick_all(cache, table, lambda key: True, T0 + 100)
    assert sorted((a.rule, a.status) for a in alerts) == [
        ("burst", "resolved"),
        ("silent", "firing"),
    ]
    # The resolved frequency key was idle afterwards and is gone from the table.
    assert sorted(table) == [f"silent{SEP}user-service".encode()]


def test_retry_delays_grow_and_cap() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 5, 10)] == [30.0, 60.0, 120.0, 480.0, 600.0]


def test_frequency_counts_a_replayed_event_once() -> None:
    detector = Detector(rules(), Settings(allowed_lateness_s=0))
    table: dict[bytes, bytes] = {}
    cache = StateCache()

    def feed(event: dict[str, Any]) -> list[Any]:
        return evaluate(detector, cache, table, record("burst", "user-service", 1, event)[1], T0)

    first, second = ev(0, event__id="a"), ev(1, event__id="b")
    assert feed(first) == feed(second) == feed(first) == feed(second) == []
    assert len(feed(ev(2, event__id="c"))) == 1


def test_states_of_removed_rules_go_and_incompatible_states_reset() -> None:
    detector = Detector(rules(), Settings(allowed_lateness_s=0))
    table: dict[bytes, bytes] = {
        f"gone{SEP}x".encode(): b'{"newest": 1}',
        f"burst{SEP}user-service".encode(): (
            b'{"newest": 1800000000.0, "times": "not a list", "key": "user-service"}'
        ),
    }
    cache = StateCache()
    assert detector.tick_all(cache, table, lambda key: True, T0) == []
    assert f"gone{SEP}x".encode() not in table
    value = record("burst", "user-service", 1, ev(1))[1]
    assert evaluate(detector, cache, table, value, T0) == []
    assert json.loads(table[f"burst{SEP}user-service".encode()])["times"] == [T0 + 1]


def test_late_records_are_counted_for_the_processor_metrics() -> None:
    from bitacora.processors.shell.counters import COUNTERS

    detector = Detector(rules(), Settings(allowed_lateness_s=10))
    table: dict[bytes, bytes] = {}
    cache = StateCache()
    before = COUNTERS.get("detect", "late_event_ignored", "burst")
    evaluate(detector, cache, table, record("burst", "user-service", 1, ev(100))[1], T0)
    evaluate(detector, cache, table, record("burst", "user-service", 1, ev(80))[1], T0)
    assert COUNTERS.get("detect", "late_event_ignored", "burst") == before + 1


def test_samples_are_stored_and_alerted_with_long_texts_cut() -> None:
    detector = Detector(rules(), Settings(allowed_lateness_s=0))
    table = CountingTable()
    cache = StateCache()
    long_text = "é" * 3000
    cut = "é" * 1024 + "…[truncated]"
    _, records = route_one(detector, ev(0, message=long_text), T0 + 10)
    [burst] = [value for key, value in records if key.startswith(b"burst")]
    assert evaluate(detector, cache, table, burst, T0 + 10) == []
    stored = json.loads(table[f"burst{SEP}user-service".encode()])
    assert [sample["message"] for sample in stored["samples"]] == [cut]
    out = []
    for offset, message in ((1, "short"), (2, long_text)):
        _, records = route_one(detector, ev(offset, message=message), T0 + 10)
        [burst] = [value for key, value in records if key.startswith(b"burst")]
        out += evaluate(detector, cache, table, burst, T0 + 10)
    [alert] = out
    assert [sample["message"] for sample in alert.samples] == [cut, "short", cut]
    assert alert.event["message"] == long_text


def test_a_quiet_tick_writes_nothing_and_a_matching_one_writes_once() -> None:
    detector = Detector(rules(), Settings(allowed_lateness_s=0))
    table = CountingTable()
    cache = StateCache()
    for offset in (0, 1, 2):
        evaluate(detector, cache, table, record("burst", "user-service", 1, ev(offset))[1], T0)
    writes = table.writes
    assert detector.tick_all(cache, table, lambda key: True, T0 + 30) == []
    assert table.writes == writes  # nothing matched and the key is not idle: no write
    [resolved] = detector.tick_all(cache, table, lambda key: True, T0 + 100)
    assert resolved.status == "resolved"
    assert f"burst{SEP}user-service".encode() not in table  # resolved, then idle: deleted
