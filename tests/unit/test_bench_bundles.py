"""The rules benchmark writes logs.normalized as the normalize role does: bundles."""

from __future__ import annotations

import json

from bench.rules_drains import bundles
from bench.rules_support import make_events
from bitacora.bundles import EVENTS_HEADER
from bitacora.processors.storage.bulk import parse_bulk_body, record_sources
from bitacora.settings import Settings


def test_bundles_hold_each_batch_per_service_in_order() -> None:
    size = Settings().bulk_max_docs
    events = make_events(size + 50, start=1_800_000_000.0)
    out = bundles("t", events)
    docs = [json.loads(d) for o in out for d in record_sources(o.value, o.headers or [])]
    assert sorted(d["event.id"] for d in docs) == sorted(e["event.id"] for e in events)
    first_batch = {e["event.id"] for e in events[:size]}
    for o in out:
        ids = [doc.id for doc in parse_bulk_body(o.value)]
        services = {json.loads(d)["service.name"] for d in record_sources(o.value, o.headers or [])}
        assert o.key is not None
        assert services == {o.key.decode()}
        assert o.headers == [(EVENTS_HEADER, str(len(ids)).encode())]
        # A bundle never mixes two batches, and keeps the events' order.
        assert len({i in first_batch for i in ids}) == 1
        order = [e["event.id"] for e in events if e["event.id"] in set(ids)]
        assert ids == order
