"""`--limit 0` over 100k events streams them in bounded memory and returns every one."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from opensearchpy import OpenSearch

from bitacora.search.client import stream_hits
from bitacora.search.query import SearchParams
from bitacora.search.timeparse import to_nanos
from tests.helpers import seed

pytestmark = pytest.mark.stack

TOTAL = 100_000
MEMORY_BOUND = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def big_streams(search_client: OpenSearch) -> Iterator[seed.Streams]:
    start = to_nanos(datetime.now(UTC) - timedelta(days=10))

    def events() -> Iterator[seed.Event]:
        for i in range(TOTAL):
            yield seed.event(
                start + i * 7_000_000_000,
                service=f"bulk-{i % 4}",
                level="info",
                message=f"GET /api/products/{i} 200 served from cache shard {i % 16} " + "x" * 80,
                event_id=f"big-{i:06d}",
            )

    with seed.installed(search_client, seed.new_streams()) as streams:
        assert seed.index_logs(search_client, streams, events()) == TOTAL
        yield streams


def test_limit_zero_streams_100k_in_bounded_memory(
    search_client: OpenSearch, big_streams: seed.Streams
) -> None:
    params = SearchParams(index=big_streams.logs)
    count = 0
    last = ""
    ordered = True
    tracemalloc.start()
    try:
        for hit in stream_hits(search_client, params, limit=0, forward=True):
            event_id = hit["_source"]["event.id"]
            ordered = ordered and event_id > last
            last = event_id
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == TOTAL
    assert ordered  # oldest first, each once: ids were planted in time order
    assert last == f"big-{TOTAL - 1:06d}"
    print(f"tracemalloc peak while streaming {count} events: {peak / 1e6:.1f} MB")
    assert peak < MEMORY_BOUND, f"peak {peak / 1e6:.1f} MB"
