"""A document with every event-table field, stored in a real data stream, exact mapping."""

from __future__ import annotations

import json
from typing import Any

from bitacora.settings import Settings
from processors.storage.indexer import BulkIndexer
from tests.integration.storage.osapi import count, isolated_templates, leaf_types, ok

EXPECTED_TYPES = {
    "@timestamp": "date_nanos",
    "event.ingested": "date",
    "event.id": "keyword",
    "event.dataset": "keyword",
    "event.severity": "integer",
    "event.duration": "long",
    "message": "text",
    "log.level": "keyword",
    "log.logger": "keyword",
    "service.name": "keyword",
    "service.environment": "keyword",
    "host.name": "keyword",
    "kubernetes.namespace": "keyword",
    "kubernetes.pod.name": "keyword",
    "kubernetes.container.name": "keyword",
    "trace.id": "keyword",
    "span.id": "keyword",
    "error.type": "keyword",
    "error.message": "text",
    "error.stack_trace": "text",
    "http.request.method": "keyword",
    "http.response.status_code": "integer",
    "url.path": "keyword",
    "client.ip": "ip",
    "labels": "flat_object",
}

# The normalizer emits flat dotted keys; OpenSearch maps them onto the object paths.
FULL_EVENT: dict[str, Any] = {
    "@timestamp": "2026-11-28T09:28:23.123456789Z",
    "event.ingested": "2026-11-28T09:28:23.200Z",
    "event.id": "e-full-1",
    "event.dataset": "order-service.app",
    "event.severity": 17,
    "event.duration": 1_500_000,
    "message": "payment failed for order 42",
    "log.level": "error",
    "log.logger": "orders.payment",
    "service.name": "order-service",
    "service.environment": "production",
    "host.name": "node-3",
    "kubernetes.namespace": "shop",
    "kubernetes.pod.name": "order-service-7d9f-abcde",
    "kubernetes.container.name": "order-service",
    "trace.id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span.id": "00f067aa0ba902b7",
    "error.type": "ValueError",
    "error.message": "card declined",
    "error.stack_trace": 'Traceback (most recent call last):\n  File "pay.py", line 3\nValueError',
    "http.request.method": "POST",
    "http.response.status_code": 502,
    "url.path": "/api/orders/42/pay",
    "client.ip": "10.1.2.3",
    "labels": {"customer_tier": "gold", "retry": "2", "nested": {"deep": "x"}},
    "not_in_the_contract": {"a": 1},
}


async def test_every_field_indexes_with_the_contracted_types(opensearch_url: str) -> None:
    settings = Settings(opensearch_url=opensearch_url)
    async with isolated_templates(opensearch_url, settings) as iso:
        stream = iso.logs_stream("order-service")
        async with BulkIndexer.from_settings(settings) as indexer:
            result = await indexer.index([(stream, "e-full-1", json.dumps(FULL_EVENT).encode())])
        assert (result.indexed, result.duplicates, result.rejected) == (1, 0, [])

        mapping = await ok(opensearch_url, "GET", f"/{stream}/_mapping")
        (backing,) = mapping
        assert backing.startswith(f".ds-{stream}-")
        mappings = mapping[backing]["mappings"]
        assert mappings["dynamic"] == "false"
        # dynamic false: the undeclared field stays in _source, the mapping is unchanged.
        assert leaf_types(mappings["properties"]) == EXPECTED_TYPES

        stream_info = await ok(opensearch_url, "GET", f"/_data_stream/{stream}")
        assert stream_info["data_streams"][0]["timestamp_field"] == {"name": "@timestamp"}

        assert await count(opensearch_url, stream) == 1
        hits = await ok(
            opensearch_url,
            "POST",
            f"/{stream}/_search",
            {
                "query": {
                    "bool": {
                        "filter": [
                            {"term": {"http.response.status_code": 502}},
                            {"term": {"service.name": "order-service"}},
                            {"term": {"client.ip": "10.1.2.3"}},
                            {"term": {"labels.customer_tier": "gold"}},
                            {"term": {"labels.nested.deep": "x"}},
                            {"match": {"message": "payment"}},
                            {"match": {"error.stack_trace": "ValueError"}},
                            {"term": {"error.message.keyword": "card declined"}},
                            {"range": {"@timestamp": {"gte": "2026-11-28T09:28:23.123456789Z"}}},
                        ]
                    }
                },
                "docvalue_fields": [
                    {"field": "@timestamp", "format": "strict_date_optional_time_nanos"}
                ],
            },
        )
        (hit,) = hits["hits"]["hits"]
        assert hit["_id"] == "e-full-1"
        assert hit["_source"] == FULL_EVENT
        # Nanoseconds survive: the stored value, not only the source text.
        assert hit["fields"]["@timestamp"] == ["2026-11-28T09:28:23.123456789Z"]
