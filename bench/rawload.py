"""The baseline loader: POST prebuilt ``_bulk`` bodies with plain aiohttp, nothing else.

Benchmarks compare :class:`~processors.storage.indexer.BulkIndexer` (and the whole
pipeline) against this: the fastest a single Python client can push the same documents
into the same OpenSearch, with no classification, retry or dead-letter logic on the way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import aiohttp

from bitacora.processors.storage.bulk import Doc, build_bulk_body, split_by_size


def bulk_bodies(
    docs: Sequence[tuple[str, str, bytes]], max_docs: int = 2000, max_bytes: int = 8 * 1024 * 1024
) -> list[bytes]:
    """The ``_bulk`` bodies for ``docs`` (``create`` actions), split like the indexer splits."""
    batch = [Doc(*doc) for doc in docs]
    return [
        build_bulk_body(batch[span.start : span.stop])
        for span in split_by_size(batch, max_docs, max_bytes)
    ]


async def post_bodies(url: str, bodies: Sequence[bytes], *, concurrency: int = 2) -> int:
    """POST each body to ``url``/_bulk; return the number of items OpenSearch answered.

    Raises ``RuntimeError`` if a request fails or any item has an error other than a 409
    (a baseline that silently loses documents would measure nothing).
    """
    gate = asyncio.Semaphore(concurrency)
    endpoint = url.rstrip("/") + "/_bulk?filter_path=errors,items.*.status"
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency * 2)
    ) as session:

        async def post(body: bytes) -> int:
            async with (
                gate,
                session.post(
                    endpoint, data=body, headers={"Content-Type": "application/x-ndjson"}
                ) as response,
            ):
                payload = json.loads(await response.read())
                if response.status != 200:
                    raise RuntimeError(f"bulk failed: HTTP {response.status}: {payload}")
                items = payload["items"]
                if payload["errors"]:
                    bad = [
                        i for i in items if next(iter(i.values()))["status"] not in (200, 201, 409)
                    ]
                    if bad:
                        raise RuntimeError(f"bulk had {len(bad)} failed items: {bad[0]}")
                return len(items)

        counts = await asyncio.gather(*(post(body) for body in bodies))
    return sum(counts)


async def raw_bulk_load(
    url: str,
    docs: Sequence[tuple[str, str, bytes]],
    *,
    max_docs: int = 2000,
    max_bytes: int = 8 * 1024 * 1024,
    concurrency: int = 2,
) -> int:
    """Build the bodies for ``docs`` and POST them; return the number of items answered.

    For timing only the POSTs, call :func:`bulk_bodies` first and time :func:`post_bodies`.
    """
    return await post_bodies(url, bulk_bodies(docs, max_docs, max_bytes), concurrency=concurrency)
