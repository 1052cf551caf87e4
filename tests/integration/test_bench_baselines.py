"""``bench.baselines.raw_bulk`` on the real OpenSearch: its window ends when every document
is searchable, as the pipeline's does, not when the last bulk was answered."""

from __future__ import annotations

import aiohttp
import pytest

from bench import services
from bench.baselines import raw_bulk


@pytest.mark.stack
async def test_raw_bulk_returns_once_every_document_is_searchable(opensearch_url: str) -> None:
    rid = services.run_id()
    streams = [f"logs-rawbench{rid}-a", f"logs-rawbench{rid}-b"]
    docs = [
        (streams[i % 2], f"{rid}-{i}", b'{"@timestamp":"2026-12-07T10:00:00Z","message":"m"}')
        for i in range(300)
    ]
    pattern = f"logs-rawbench{rid}-*"
    async with aiohttp.ClientSession() as session:
        try:
            timing = await raw_bulk(opensearch_url, docs)
            # Counted without a refresh: only what a refresh made searchable shows.
            assert await services.os_count(session, opensearch_url, pattern) == 300
            assert timing.events == 298  # each stream's first document is posted untimed
            assert 0 < timing.acked_wall_s <= timing.wall_s
        finally:
            await services.os_delete_streams(session, opensearch_url, pattern)
