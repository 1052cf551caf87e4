"""BulkIndexer at volume: a large batch of realistic documents is indexed exactly as the raw
bulk loader indexes the same documents (every one once, none rejected).

Its speed against that loader is a benchmark figure (``bench/``), not asserted here.
"""

from __future__ import annotations

import json

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


async def test_indexer_indexes_a_large_batch_as_the_raw_loader_does(opensearch_url: str) -> None:
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
        answered = await post_bodies(opensearch_url, bodies)

        async with BulkIndexer.from_settings(settings) as indexer:
            result = await indexer.index(idx_docs)

        assert answered == N
        assert (result.indexed, result.rejected) == (N, [])
        assert await count(opensearch_url, raw_stream) == N + 10
        assert await count(opensearch_url, idx_stream) == N + 10
