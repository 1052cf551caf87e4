"""Keyed records one item at a time, for tests: a one-item record, a one-event router,
and the flat (rule, key, weight, event) view of a record.

The processor writes grouped keyed records (processors.alerting.keyed_records); tests hand
the evaluator exactly one item as a record holding one group of one event.
"""

from __future__ import annotations

import json
from typing import Any

from bitacora.processors.alerting.detector import Detector
from bitacora.processors.alerting.keyed_records import Group, decode_groups, table_key
from bitacora.processors.alerting.state_cache import StateCache
from bitacora.processors.normalize import to_json_bytes
from bitacora.rules.alerts import Alert

# (rule, key, weight, event): one evaluation for the state of (rule, key).
Item = tuple[str, str, int, Any]


def decode(value: bytes) -> list[Item]:
    """The items of a keyed record, in order per state."""
    return [
        (group.rule, group.key, int(group.members[i]), group.events[group.members[i + 1]])
        for group in decode_groups(value)
        for i in range(0, len(group.members), 2)
    ]


def evaluate(
    detector: Detector, cache: StateCache, table: Any, value: bytes, now: float
) -> list[Alert]:
    """Evaluate one keyed record against the states in ``table``."""
    return detector.evaluate_values(cache, table, [value], now)


def evaluate_items(
    detector: Detector, cache: StateCache, table: Any, items: list[Item], now: float
) -> list[Alert]:
    """Evaluate items in order, each a group of its own."""
    groups = [Group(rule, key, [w, 0], [event], [None]) for rule, key, w, event in items]
    return detector.evaluate_groups(cache, table, groups, now)


def record(rule: str, key: str, weight: int, event: dict[str, Any]) -> tuple[bytes, bytes]:
    """A keyed record of one item: Kafka key ``rule␟key``, JSON value."""
    value = {"r": [rule], "k": [key], "g": [[0, 0, [weight, 0]]], "e": [event]}
    return table_key(rule, key), json.dumps(value, separators=(",", ":")).encode()


def route_one(
    detector: Detector, event: dict[str, Any], now: float
) -> tuple[list[Alert], list[tuple[bytes, bytes]]]:
    """Route one event alone: its stateless alerts and one single record per item."""
    alerts, batch = detector.route_values([to_json_bytes(event)], now)
    items = [item for _, value in batch.records() for item in decode(value)]
    return alerts, [record(rule, key, weight, event) for rule, key, weight, event in items]
