"""Batched keyed records: the same alerts and states as one record per rule and event."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from bitacora.partitions import partition_for
from bitacora.processors.alerting.detector import Detector
from bitacora.processors.alerting.keyed_records import (
    SEP,
    KeyedBatch,
    item_partitioner,
    table_key,
    table_partitioner,
)
from bitacora.processors.alerting.state_cache import StateCache
from bitacora.processors.normalize import to_json_bytes
from bitacora.rules.model import Rule
from bitacora.settings import Settings
from tests.unit.rules.single_records import decode, evaluate, record, route_one
from tests.unit.rules.util import T0, ev


def rules() -> list[Rule]:
    specs: list[dict[str, Any]] = [
        {
            "name": "burst",
            "type": "frequency",
            "num_events": 3,
            "timeframe": "30s",
            "query_key": "service.name",
            "filter": [{"term": {"log.level": "error"}}],
        },
        {
            "name": "burst-all",
            "type": "frequency",
            "num_events": 5,
            "timeframe": "1m",
            "filter": [{"terms": {"log.level": ["error", "fatal"]}}],
        },
        {"name": "silent", "type": "flatline", "threshold": 2, "timeframe": "20s"},
        {
            "name": "silent-per-service",
            "type": "flatline",
            "threshold": 1,
            "timeframe": "10s",
            "query_key": "service.name",
        },
        {
            "name": "new-error",
            "type": "new_term",
            "fields": ["error.type"],
            "query_key": "service.name",
            "filter": [{"exists": {"field": "error.type"}}],
        },
        {
            "name": "spiky",
            "type": "spike",
            "timeframe": "10s",
            "spike_height": 2,
            "spike_type": "both",
            "query_key": "service.name",
        },
        {"name": "fatal", "type": "any", "filter": [{"term": {"log.level": "fatal"}}]},
    ]
    return [Rule.model_validate(spec) for spec in specs]


def events(count: int, seed: int) -> list[dict[str, Any]]:
    """Events of three services over a few minutes, some out of order, with gaps."""
    rng = random.Random(seed)
    out = []
    offset = 0.0
    for i in range(count):
        offset += rng.choice((0.01, 0.2, 0.7, 1.5, 4.0, 25.0))
        late = rng.random() < 0.1
        fields: dict[str, Any] = {
            "service__name": rng.choice(("a-service", "b-service", "c-service")),
            "log__level": rng.choice(("info", "info", "error", "fatal")),
            "event__id": f"e{i}",
        }
        if rng.random() < 0.3:
            fields["error__type"] = rng.choice(("KeyError", "ValueError", "OSError"))
        out.append(ev(offset - (rng.random() * 3 if late else 0.0), **fields))
    return out


def summary(alerts: list[Any]) -> list[tuple[str, str, str, int]]:
    return sorted((a.rule, a.dedup_key, a.status, a.count) for a in alerts)


def one_record_per_item(stream: list[dict[str, Any]], now: float) -> tuple[list[Any], Any]:
    """The oracle: each event routed alone, each of its items evaluated as its own record."""
    detector = Detector(rules(), Settings(allowed_lateness_s=5, topic_partitions=3))
    table: dict[bytes, bytes] = {}
    cache = StateCache()
    alerts: list[Any] = []
    for event in stream:
        routed, records = route_one(detector, event, now)
        alerts += routed
        for _key, value in records:
            alerts += evaluate(detector, cache, table, value, now)
    alerts += detector.tick_all(cache, table, lambda key: True, now + 3600)
    return alerts, {k: json.loads(v) for k, v in table.items()}


def batched(stream: list[dict[str, Any]], now: float, size: int) -> tuple[list[Any], Any]:
    detector = Detector(rules(), Settings(allowed_lateness_s=5, topic_partitions=3))
    table: dict[bytes, bytes] = {}
    cache = StateCache()
    alerts: list[Any] = []
    values = [to_json_bytes(event) for event in stream]
    for start in range(0, len(values), size):
        routed, batch = detector.route_values(values[start : start + size], now)
        alerts += routed
        records = batch.records()
        # Records of different partitions may be taken together or one by one.
        alerts += detector.evaluate_values(cache, table, [v for _, v in records[:2]], now)
        for _, value in records[2:]:
            alerts += evaluate(detector, cache, table, value, now)
    alerts += detector.tick_all(cache, table, lambda key: True, now + 3600)
    return alerts, {k: json.loads(v) for k, v in table.items()}


@pytest.mark.parametrize(("seed", "size"), [(1, 1), (2, 7), (3, 50), (4, 1000)])
def test_batched_records_give_the_same_alerts_and_states(seed: int, size: int) -> None:
    stream = events(400, seed)
    now = T0 + 4000
    single_alerts, single_states = one_record_per_item(stream, now)
    batch_alerts, batch_states = batched(stream, now, size)
    assert len(single_alerts) > 10  # the workload really fires
    assert summary(batch_alerts) == summary(single_alerts)
    assert batch_states == single_states


def test_a_key_values_items_share_one_record_holding_each_event_once() -> None:
    partition_of = table_partitioner(4)
    batch = KeyedBatch(item_partitioner(4))
    first, second = b'{"n":1}', b'{"n":2}'
    for rule in ("r1", "r2", "r3", "r4", "r5", "r6"):
        batch.add(rule, "k", 1, first)
    batch.add("r1", "k", 3, second)
    batch.add("r2", "other", 1, second)
    records = batch.records()
    assert batch.records() == []
    by_partition = {partition: json.loads(value) for partition, value in records}
    assert len(by_partition) == len(records)  # one record per partition
    home = partition_for(b"k", 4)
    assert all(partition_of(table_key(rule, "k")) == home for rule in ("r1", "r9"))
    record = by_partition[home]
    assert record["e"] == [{"n": 1}, {"n": 2}]
    # Rules and keys are named once per record; each (rule, key) holds its items in order
    # as [weight, event position, ...].
    assert record["r"] == ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert record["k"] == ["k"]
    assert record["g"] == [
        [0, 0, [1, 0, 3, 1]],
        *[[at, 0, [1, 0]] for at in range(1, 6)],
    ]
    away = partition_for(b"other", 4)
    assert away != home
    assert by_partition[away] == {
        "r": ["r2"],
        "k": ["other"],
        "g": [[0, 0, [1, 0]]],
        "e": [{"n": 2}],
    }
    assert decode(records[0][1])[:2] == [("r1", "k", 1, {"n": 1}), ("r1", "k", 3, {"n": 2})]


def test_a_full_record_is_sealed_and_order_per_partition_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bitacora.processors.alerting.keyed_records.MAX_RECORD_BYTES", 100)
    batch = KeyedBatch(lambda rule, key: 0)
    for i in range(20):
        batch.add("r", "k", 1, json.dumps({"i": i, "pad": "x" * 20}).encode())
    records = batch.records()
    assert len(records) > 1
    assert all(len(value) < 200 for _, value in records)
    order = [event["i"] for _, value in records for _, _, _, event in decode(value)]
    assert order == list(range(20))


def test_a_one_item_record_reads_back_as_its_item() -> None:
    value = record("burst", "svc", 2, {"a": 1})[1]
    assert decode(value) == [("burst", "svc", 2, {"a": 1})]


def test_unreadable_events_are_skipped_and_counted_and_bad_utf8_replaced() -> None:
    detector = Detector(rules(), Settings(allowed_lateness_s=5))
    good = to_json_bytes(ev(0, log__level="fatal"))
    bad_utf8 = good.replace(b'"message":"boom"', b'"message":"b\xffm"')
    alerts, batch = detector.route_values([b"not json", b"[1, 2]", bad_utf8, good], T0)
    assert detector.skipped == 2
    assert [a.rule for a in alerts] == ["fatal", "fatal"]
    assert alerts[0].samples[0]["message"] == "b\ufffdm"
    assert detector.routed == 2
    assert len(batch) > 0


def test_unreadable_keyed_records_and_states_do_not_stop_the_rest() -> None:
    detector = Detector(rules(), Settings(allowed_lateness_s=5))
    table: dict[bytes, bytes] = {f"burst{SEP}user-service".encode(): b"{not json"}
    cache = StateCache()
    good = [record("burst", "user-service", 1, ev(i))[1] for i in range(3)]
    alerts = detector.evaluate_values(cache, table, [b"garbage", *good, b'{"i": 5}'], T0)
    assert [(a.rule, a.count) for a in alerts] == [("burst", 3)]
    assert detector.skipped == 2


def test_states_with_nan_and_odd_keys_round_trip() -> None:
    from bitacora.processors.alerting.keyed_records import loads
    from bitacora.processors.alerting.state_cache import dump_state

    state = {"v": math.nan, "big": 2**70, "s": "\ud800x", "n": None, "ok": [1.5, "é"]}
    back = loads(dump_state(state))
    assert math.isnan(back.pop("v"))
    assert back == {"big": 2**70, "s": "\ud800x", "n": None, "ok": [1.5, "é"]}
    assert loads(dump_state({"a": [1, 2.25, "é"]})) == {"a": [1, 2.25, "é"]}
