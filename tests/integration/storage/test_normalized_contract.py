"""Contract between normalize() and the logs template: its documents index, nothing rejected.

Real raw records of every kind (and the hostile ones of RELIABILITY #7 and #12) go through
the real normalizer and the real BulkIndexer into an isolated ``logs-*`` data stream.
"""

from __future__ import annotations

import json
from typing import Any

from bitacora import schema
from bitacora.processors.normalize import normalize, to_json_bytes
from bitacora.processors.storage.indexer import BulkIndexer
from bitacora.rawrecord import RawRecord
from bitacora.settings import Settings
from tests.integration.storage.osapi import count, isolated_templates, leaf_types, ok
from tests.integration.storage.test_mapping import EXPECTED_TYPES

T0 = 1_764_322_103_123_456_789


def deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": "bottom"}
    for i in range(levels):
        node = {f"l{i}": node}
    return node


RECORDS: list[tuple[str, dict[Any, Any]]] = [
    ("order-service.app", {"message": "order placed", "level": "INFO", "order_id": 42}),
    (
        "nginx.access",
        {
            "log": '10.0.0.7 - - [28/Nov/2026:09:28:23 +0000] "GET /api/products/7 HTTP/1.1" '
            '503 512 "-" "curl/8.0" 0.012'
        },
    ),
    (
        "review-service.app",
        {
            "message": 'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n'
            "    boom()\nValueError: bad review",
            "levelno": 40,
        },
    ),
    ("user-service.app", {"msg": "login password=hunter2", "level": 30, "user": {"id": 7}}),
    ("contact-service.app", {"log": 'level=warn msg="slow smtp" duration=1.5s'}),
    ("product-service.app", {"message": "many keys", **{f"k{i}": i for i in range(5000)}}),
    ("product-service.app", {"message": "deep", "tree": deep(50)}),
    ("product-service.app", {"message": "x" * (10 * 1024 * 1024)}),
    ("product-service.app", {b"message": b"bad \xff\xfe utf8 \x00 nul", b"k\xff": b"v\xfe"}),
    ("postgres.db", {"log": "2026-11-28 09:28:23.123 UTC [123] ERROR:  duplicate key value"}),
    (
        "kube.var.log.containers.order-service",
        {
            "log": '{"level":"error","msg":"payment failed","status":502}',
            "kubernetes": {
                "namespace_name": "shop",
                "pod_name": "order-service-1",
                "container_name": "order-service",
                "labels": {"app": "order-service"},
            },
        },
    ),
    ("order-service.app", {"message": "odd types", "status": "abc", "ip": "not-an-ip", "n": None}),
    # The file input (bitacora tail): a line and the file it came from.
    (
        "system-health.file",
        {"log": "order-service: FAIL refused", "log.file.path": "/var/log/h.log"},
    ),
]


async def test_every_normalized_document_indexes_without_rejection(opensearch_url: str) -> None:
    settings = Settings(opensearch_url=opensearch_url)
    async with isolated_templates(opensearch_url, settings) as iso:
        docs = []
        for position, (tag, record) in enumerate(RECORDS):
            raw = RawRecord(tag, T0 + position, record, T0, "127.0.0.1", "forward", "c1", position)
            doc = normalize(raw, 0, position)
            # Same stream family as production (logs-<service>), under the test's prefix.
            stream = iso.logs_stream(
                schema.logs_stream_for(doc["service.name"]).removeprefix("logs-")
            )
            docs.append((stream, doc["event.id"], to_json_bytes(doc)))
        async with BulkIndexer.from_settings(settings) as indexer:
            result = await indexer.index(docs)
        assert [(r.doc.id, r.reason) for r in result.rejected] == []
        assert result.indexed == len(RECORDS)
        assert await count(opensearch_url, f"logs-{iso.tag}-*") == len(RECORDS)

        mappings = await ok(opensearch_url, "GET", f"/logs-{iso.tag}-*/_mapping")
        for backing, mapping in mappings.items():
            assert leaf_types(mapping["mappings"]["properties"]) == EXPECTED_TYPES, backing

        hits = await ok(
            opensearch_url,
            "POST",
            f"/logs-{iso.tag}-*/_search",
            {"query": {"term": {"http.response.status_code": 503}}},
        )
        (hit,) = hits["hits"]["hits"]
        assert hit["_source"]["url.path"] == "/api/products/7"
        everything = json.dumps(
            await ok(opensearch_url, "POST", f"/logs-{iso.tag}-*/_search", {"size": 100})
        )
        assert "hunter2" not in everything
