"""A document with every event-table field, stored in a real data stream, exact mapping."""

from __future__ import annotations

import json
from typing import Any

from bitacora.processors.storage.indexer import BulkIndexer
from bitacora.settings import Settings
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
    "log.file.path": "keyword",
    "log.syslog.facility": "keyword",
    "log.syslog.severity": "keyword",
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
    "log.file.path": "/var/log/flores/order-service.log",
    "log.syslog.facility": "local0",
    "log.syslog.severity": "err",
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
                            {"term": {"log.syslog.facility": "local0"}},
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


async def test_an_alert_document_indexes_with_the_alerts_mapping(opensearch_url: str) -> None:
    from bitacora.rules.alerts import Alert

    big = "x" * 40_000  # longer than a Lucene term: fine, event is stored only
    alert = Alert(
        id="a1b2c3",
        rule="order-errors",
        key="order-service",
        dedup_key="order-errors.order-service",
        status="firing",
        severity="error",
        count=12,
        first_event_time="2026-11-28T09:30:00.123Z",
        last_event_time="2026-11-28T09:31:00.456Z",
        created_at="2026-11-28T09:31:01.000Z",
        description="Too many errors in order-service",
        event={**FULL_EVENT, "message": big},
        samples=[{"message": "boom", "service.name": "order-service"}],
        extra={"threshold": 10, "window": [1, 2]},
        search_query='service.name:"order-service" AND log.level:"error"',
        search_url="http://127.0.0.1:5601/app/data-explorer/discover#?_g=()",
        search_command="bitacora search 'service.name:\"order-service\"'",
    )
    document = alert.to_document()
    settings = Settings(opensearch_url=opensearch_url)
    async with isolated_templates(opensearch_url, settings) as iso:
        async with BulkIndexer.from_settings(settings) as indexer:
            result = await indexer.index(
                [(iso.alerts_stream, alert.id, json.dumps(document).encode())]
            )
        assert (result.indexed, result.rejected) == (1, [])
        assert await count(opensearch_url, iso.alerts_stream) == 1
        hits = await ok(
            opensearch_url,
            "POST",
            f"/{iso.alerts_stream}/_search",
            {
                "query": {
                    "bool": {
                        "filter": [
                            {"term": {"rule": "order-errors"}},
                            {"term": {"status": "firing"}},
                            {"term": {"dedup_key": "order-errors.order-service"}},
                            {"range": {"count": {"gte": 12}}},
                            {"range": {"first_event_time": {"lte": "2026-11-28T09:30:00.123Z"}}},
                        ]
                    }
                }
            },
        )
        (hit,) = hits["hits"]["hits"]
        assert hit["_source"] == document
        mapping = await ok(opensearch_url, "GET", f"/{iso.alerts_stream}/_mapping")
        (backing,) = mapping
        props = mapping[backing]["mappings"]["properties"]
        assert props["event"] == {"type": "object", "enabled": False}
        assert props["rule"] == {"type": "keyword"}
