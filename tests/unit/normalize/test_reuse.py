"""``normalize`` reuses its per-event scratch objects (the choices, the builder) from event
to event: nothing of one event may reach the next."""

from __future__ import annotations

from typing import Any

import pytest

from bitacora.errors import DecodeError
from bitacora.processors.normalize import NormalizeConfig, normalize, normalize_json
from tests.unit.normalize.support import head, raw

# An event that leaves as much behind as it can: every kind of choice (consumed keys,
# nested paths, the record's own time), an exception parsed out of a stack (so an error
# level), and more labels than the cap keeps.
BUSY: dict[str, Any] = {
    "msg": "request failed",
    "stack": 'Traceback (most recent call last):\n  File "a.py", line 1\nValueError: bad',
    "status": 503,
    "url": "/api/orders?id=1",
    "method": "POST",
    "duration_ms": 12,
    "client_ip": "10.0.0.1",
    "trace_id": "0123456789abcdef0123456789abcdef",
    "span_id": "0123456789abcdef",
    "env": "prod",
    "logger": "orders",
    "host": "node-1",
    "ts": "2026-11-28T08:00:00Z",
    "kubernetes": {"pod_name": "orders-1", "namespace_name": "shop", "labels": {"app": "x"}},
    "ratio": 0.5,
    **{f"extra{n}": n for n in range(8)},
}
SMALL = NormalizeConfig(max_label_keys=4)
PLAIN = {"message": "hello", "k": "v"}
EXPECTED = head(message="hello", labels={"k": "v"}, **{"service.name": "review-service"})


def test_an_event_after_a_busy_one_is_normalized_as_if_it_came_first() -> None:
    first = normalize_json(raw(PLAIN), 0, 0, SMALL)
    busy = normalize(raw(BUSY), 0, 0, SMALL)
    assert busy["error.type"] == "ValueError"
    # The cap's four keys go to what the choices leave, in record order (url and ts only
    # give fields; kubernetes keeps its labels); ratio and the eight extras are dropped.
    assert busy["labels"] == {
        "url": "/api/orders?id=1",
        "ts": "2026-11-28T08:00:00Z",
        "kubernetes": {"labels": {"app": "x"}},
        "_truncated_keys": 9,
    }
    assert normalize_json(raw(PLAIN), 0, 0, SMALL) == first
    assert first[0] == EXPECTED


def test_an_event_that_fails_midway_leaves_nothing_behind() -> None:
    normalize(raw(BUSY), 0, 0, SMALL)
    timeless = {key: value for key, value in BUSY.items() if key != "ts"}
    with pytest.raises(DecodeError, match="no usable time"):  # after the choices were made
        normalize(raw(timeless, time_ns=0, received_ns=0), 0, 0, SMALL)
    assert normalize(raw(PLAIN), 0, 0, SMALL) == EXPECTED
