"""Keyed records one at a time, for tests: the single format and a one-event router.

The processor writes batched keyed records (processors.detect_records); it still reads the
single format ``{"r": rule, "k": key, "n": weight, "e": event}`` written before batching,
and tests use it to hand the evaluator exactly one item.
"""

from __future__ import annotations

import json
from typing import Any

from processors.detect import Detector
from processors.detect_records import decode, table_key
from processors.normalize import to_json_bytes
from rules.alerts import Alert


def record(rule: str, key: str, weight: int, event: dict[str, Any]) -> tuple[bytes, bytes]:
    """A single keyed record: Kafka key ``rule␟key``, JSON value."""
    value = {"r": rule, "k": key, "n": weight, "e": event}
    return table_key(rule, key), json.dumps(value, separators=(",", ":")).encode()


def route_one(
    detector: Detector, event: dict[str, Any], now: float
) -> tuple[list[Alert], list[tuple[bytes, bytes]]]:
    """Route one event alone: its stateless alerts and one single record per item."""
    alerts, batch = detector.route_values([to_json_bytes(event)], now)
    items = [item for _, value in batch.records() for item in decode(value)]
    return alerts, [record(rule, key, weight, event) for rule, key, weight, event in items]
