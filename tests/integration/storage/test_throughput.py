"""BulkIndexer throughput against the raw-aiohttp baseline, same documents, same server.

Not a benchmark (bench/ holds those): a guard that the indexer's classification and retry
bookkeeping cost little next to the HTTP work. Prints the figures (``pytest -s``).
"""

from __future__ import annotations

import json
import time

from bench.rawload import bulk_bodies, post_bodies
from bitacora.processors.storage.indexer import BulkIndexer
from bitacora.settings import Settings
from tests.integration.storage.osapi import count, isolated_templates

N = 40_000


def realistic_docs(stream: str, prefix: str, n: int) -> list[tuple[str, str, bytes]]:
    out = []
    for i in range(n):
        event_id = f"{prefix}-{i:07d}"
        doc = {
            "@timestamp": f"2026-11-28T10:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i:09d}Z",
            "event.ingested": "2026-11-28T10:00:00.500Z",
            "event.id": event_id,
            "event.dataset": "nginx.access",
            "event.severity": 9,
            "message": f'10.0.{i % 256}.{i % 200} - - "GET /api/products/{i} HTTP/1.1" 200 5123',
            "log.level": "info",
            "service.name": "nginx",
            "host.name": f"node-{i % 5}",
            "kubernetes.namespace": "shop",
            "kubernetes.pod.name": "ingress-nginx-controller-6d5f7b9c4-x2x9p",
            "http.request.method": "GET",
            "http.response.status_code": 200,
            "url.path": f"/api/products/{i}",
            "client.ip": f"10.0.{i % 256}.{i % 200}",
            "event.duration": 1_234_000 + i,
            "labels": {"upstream": "product-service", "bytes": str(5123 + i % 100)},
        }
        out.append((stream, event_id, json.dumps(doc).encode()))
    return out


async def test_indexer_keeps_up_with_the_raw_baseline(opensearch_url: str) -> None:
    settings = Settings(opensearch_url=opensearch_url)
    async with isolated_templates(opensearch_url, settings) as iso:
        raw_stream, idx_stream = iso.logs_stream("raw"), iso.logs_stream("indexer")
        raw_docs = realistic_docs(raw_stream, "r", N)
        idx_docs = realistic_docs(idx_stream, "i", N)
        # Warm both streams up (creation of the data stream, first segment).
        async with BulkIndexer.from_settings(settings) as warm:
            await warm.index(
                realistic_docs(raw_stream, "w", 10) + realistic_docs(idx_stream, "w", 10)
            )

        bodies = bulk_bodies(raw_docs, settings.bulk_max_docs, settings.bulk_max_bytes)
        start = time.perf_counter()
        answered = await post_bodies(opensearch_url, bodies)
        raw_s = time.perf_counter() - start

        async with BulkIndexer.from_settings(settings) as indexer:
            start = time.perf_counter()
            result = await indexer.index(idx_docs)
            indexer_s = time.perf_counter() - start

        assert answered == N
        assert (result.indexed, result.rejected) == (N, [])
        assert await count(opensearch_url, raw_stream) == N + 10
        assert await count(opensearch_url, idx_stream) == N + 10
        ratio = (N / indexer_s) / (N / raw_s)
        print(
            f"\nraw baseline: {N / raw_s:,.0f} docs/s; BulkIndexer: {N / indexer_s:,.0f} docs/s; "
            f"ratio {ratio:.2f} (bodies prebuilt for the baseline, built inside the indexer)"
        )
        # Loose: the run shares the machine with other tests.
        assert ratio > 0.6
