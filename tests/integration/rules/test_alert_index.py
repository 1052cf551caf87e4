"""Alert documents indexed in one ``_bulk`` request on the real OpenSearch."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from opensearchpy import OpenSearch

from bitacora.rules.notify.index import AlertIndexer
from bitacora.settings import Settings
from tests.helpers import seed


def doc(i: int) -> dict[str, Any]:
    return {
        "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "id": f"alert-{i}",
        "rule": "bulk-rule",
        "status": "firing",
        "notify": {"action": "send", "sent": [], "failed": {}, "silence": None},
    }


async def test_index_many_creates_once_and_names_what_was_refused(opensearch_url: str) -> None:
    client = OpenSearch(hosts=[opensearch_url])
    with seed.installed(client, seed.new_streams()) as streams:
        async with aiohttp.ClientSession() as session:
            indexer = AlertIndexer(Settings(opensearch_url=opensearch_url), session, streams.alerts)
            assert await indexer.index_many([]) == []
            first = await indexer.index_many([("a-1", doc(1)), ("a-2", doc(2))])
            assert first == [None, None]
            # Again, with a document whose timestamp cannot be read: 409 counts as done,
            # the refused one is named, permanent (a 4xx).
            bad = {**doc(3), "@timestamp": "not a date"}
            again = await indexer.index_many([("a-1", doc(1)), ("a-3", bad), ("a-2", doc(2))])
            assert again[0] is None
            assert again[2] is None
            error = again[1]
            assert error is not None
            assert (error.status, error.permanent) == (400, True)
        client.indices.refresh(index=streams.alerts)
        assert client.count(index=streams.alerts)["count"] == 2


async def test_index_many_reports_an_unreachable_opensearch() -> None:
    async with aiohttp.ClientSession() as session:
        indexer = AlertIndexer(Settings(opensearch_url="http://127.0.0.1:9"), session, "x")
        [error] = await indexer.index_many([("a-1", doc(1))])
        assert error is not None
        assert error.permanent is False
