"""Retries through a fault-injecting proxy in front of the real OpenSearch."""

from __future__ import annotations

import json

import pytest

from bitacora.processors.storage.bulk import BackoffPolicy, build_bulk_body
from bitacora.processors.storage.indexer import BulkIndexer, IndexResult
from bitacora.settings import Settings
from tests.integration.storage.bulkproxy import BulkProxy, Step
from tests.integration.storage.osapi import count, isolated_templates, ok

FAST = BackoffPolicy(base_s=0.01, cap_s=0.05)
# Documents one by one, or logs.normalized bundles of 7 posted as they are: every failure
# path turns bundles into documents, so both must come out the same.
SHAPES = pytest.mark.parametrize("shape", ["documents", "bundles"])


async def index(
    indexer: BulkIndexer, batch: list[tuple[str, str, bytes]], shape: str
) -> IndexResult:
    if shape == "documents":
        return await indexer.index(batch)
    spans = [batch[i : i + 7] for i in range(0, len(batch), 7)]
    return await indexer.index([], [(build_bulk_body(span), len(span)) for span in spans])


def docs(stream: str, n: int) -> list[tuple[str, str, bytes]]:
    return [
        (
            stream,
            f"id-{i:04d}",
            json.dumps(
                {"@timestamp": "2026-11-28T10:00:00Z", "event.id": f"id-{i:04d}", "message": str(i)}
            ).encode(),
        )
        for i in range(n)
    ]


async def distinct_ids(url: str, stream: str) -> int:
    await ok(url, "POST", f"/{stream}/_refresh")
    payload = await ok(
        url,
        "POST",
        f"/{stream}/_search",
        {"size": 0, "aggs": {"ids": {"cardinality": {"field": "event.id"}}}},
    )
    return int(payload["aggregations"]["ids"]["value"])


@SHAPES
async def test_only_items_rejected_with_429_are_retried(opensearch_url: str, shape: str) -> None:
    settings = Settings(opensearch_url=opensearch_url)
    async with isolated_templates(opensearch_url, settings) as iso:
        stream = iso.logs_stream("product-service")
        batch = docs(stream, 100)
        script = [
            Step(reject=lambda pos, _id: pos % 10 == 3),  # 10 items rejected
            Step(reject=lambda pos, _id: pos < 4),  # 4 of those 10 rejected again
        ]
        async with (
            BulkProxy(opensearch_url, script) as proxy,
            BulkIndexer(Settings(opensearch_url=proxy.url), backoff=FAST) as indexer,
        ):
            result = await index(indexer, batch, shape)
        assert [len(ids) for ids in proxy.seen] == [100, 10, 4]
        assert proxy.seen[1] == [f"id-{i:04d}" for i in range(3, 100, 10)]
        assert proxy.seen[2] == proxy.seen[1][:4]
        assert (result.indexed, result.duplicates, result.rejected) == (100, 0, [])
        assert (result.requests, result.retried_items) == (3, 14)
        assert await count(opensearch_url, stream) == 100
        assert await distinct_ids(opensearch_url, stream) == 100


@SHAPES
async def test_whole_request_failures_and_dropped_connections_are_retried(
    opensearch_url: str, shape: str
) -> None:
    settings = Settings(opensearch_url=opensearch_url)
    async with isolated_templates(opensearch_url, settings) as iso:
        stream = iso.logs_stream("user-service")
        batch = docs(stream, 50)
        script = [Step(status=503), Step(drop=True), Step(status=429), Step()]
        async with (
            BulkProxy(opensearch_url, script) as proxy,
            BulkIndexer(Settings(opensearch_url=proxy.url), backoff=FAST) as indexer,
        ):
            result = await index(indexer, batch, shape)
        assert [len(ids) for ids in proxy.seen] == [50, 50, 50, 50]
        assert (result.indexed, result.duplicates, result.rejected) == (50, 0, [])
        assert (result.requests, result.retried_items) == (4, 150)
        assert await count(opensearch_url, stream) == 50


@SHAPES
async def test_a_lost_response_resend_gives_409s_not_copies(
    opensearch_url: str, shape: str
) -> None:
    """The bulk succeeded but its answer was lost: the re-send must not duplicate."""
    settings = Settings(opensearch_url=opensearch_url)
    async with isolated_templates(opensearch_url, settings) as iso:
        stream = iso.logs_stream("contact-service")
        batch = docs(stream, 30)
        async with BulkIndexer(Settings(opensearch_url=opensearch_url)) as direct:
            await direct.index(batch[:20])  # as if a previous attempt got through
        async with (
            BulkProxy(opensearch_url, [Step()]) as proxy,
            BulkIndexer(Settings(opensearch_url=proxy.url), backoff=FAST) as indexer,
        ):
            result = await index(indexer, batch, shape)
        assert (result.indexed, result.duplicates, result.rejected) == (10, 20, [])
        assert await count(opensearch_url, stream) == 30


@SHAPES
async def test_a_request_the_server_refuses_is_split_to_isolate_the_document(
    opensearch_url: str, shape: str
) -> None:
    settings = Settings(opensearch_url=opensearch_url)
    async with isolated_templates(opensearch_url, settings) as iso:
        stream = iso.logs_stream("order-service")
        batch = docs(stream, 8)
        async with (
            BulkProxy(opensearch_url, refuse_ids=frozenset({"id-0005"})) as proxy,
            BulkIndexer(Settings(opensearch_url=proxy.url), backoff=FAST) as indexer,
        ):
            result = await index(indexer, batch, shape)
        # 413 for every body holding id-0005: halves until it stands alone, then rejected.
        assert [len(ids) for ids in proxy.seen] == [8, 4, 4, 2, 1, 1, 2]
        assert proxy.seen[5] == ["id-0005"]
        assert [r.doc.id for r in result.rejected] == ["id-0005"]
        assert result.rejected[0].reason == "bulk_request_refused: HTTP 413 for this document"
        assert result.indexed == 7
        assert await count(opensearch_url, stream) == 7
