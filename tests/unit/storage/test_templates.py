"""Index templates: the exact mapping contract of ARCHITECTURE.md's event table."""

from __future__ import annotations

from typing import Any

import pytest

from bitacora.processors.storage import templates
from bitacora.processors.storage.templates import (
    alerts_index_template,
    body_hash,
    deadletter_index_template,
    index_templates,
    logs_index_template,
)
from bitacora.settings import Settings


def leaf_types(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten a mapping's properties to {"dotted.path": "type"}."""
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = prefix + name
        if "properties" in spec:
            out.update(leaf_types(spec["properties"], path + "."))
        else:
            out[path] = spec["type"]
    return out


EVENT_TYPES = {
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
    "log.syslog.facility": "keyword",  # from the syslog input
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


def test_logs_template_has_exactly_the_event_table_types() -> None:
    body = logs_index_template(Settings())
    assert leaf_types(body["template"]["mappings"]["properties"]) == EVENT_TYPES


def test_logs_template_shape() -> None:
    body = logs_index_template(Settings(index_shards=3, index_replicas=1))
    assert body["index_patterns"] == ["logs-*"]
    assert body["data_stream"] == {}
    assert body["priority"] == 200
    assert body["template"]["settings"] == {
        "index": {
            "number_of_shards": 3,
            "number_of_replicas": 1,
            "refresh_interval": "1s",
            "merge_on_flush": {"enabled": False},
        }
    }
    mappings = body["template"]["mappings"]
    assert mappings["dynamic"] is False
    assert mappings["properties"]["error"]["properties"]["message"]["fields"] == {
        "keyword": {"type": "keyword", "ignore_above": 1024}
    }
    assert body["_meta"] == {
        "managed_by": "bitacora",
        "purpose": "normalized log events",
        "bitacora_hash": body_hash(body),
    }
    assert mappings["_meta"] == {"bitacora_hash": body_hash(body)}


def test_pattern_and_priority_overrides_for_isolated_copies() -> None:
    body = logs_index_template(Settings(), pattern="logs-t1234-*", priority=700)
    assert body["index_patterns"] == ["logs-t1234-*"]
    assert body["priority"] == 700
    assert (
        body["_meta"]["bitacora_hash"] != logs_index_template(Settings())["_meta"]["bitacora_hash"]
    )


def test_hash_is_stable_and_follows_settings() -> None:
    assert logs_index_template(Settings()) == logs_index_template(Settings())
    one = logs_index_template(Settings(index_replicas=0))["_meta"]["bitacora_hash"]
    two = logs_index_template(Settings(index_replicas=1))["_meta"]["bitacora_hash"]
    assert one != two
    assert len(one) == 16


def test_deadletter_template_types() -> None:
    body = deadletter_index_template(Settings())
    assert body["index_patterns"] == ["bitacora-deadletter*"]
    assert body["data_stream"] == {}
    props = body["template"]["mappings"]["properties"]
    assert leaf_types(props) == {
        "@timestamp": "date",
        "deadletter.stage": "keyword",
        "deadletter.error_type": "keyword",
        "deadletter.reason": "keyword",
        "deadletter.original": "text",
        "deadletter.original_encoding": "keyword",
        "deadletter.original_bytes": "long",
        "deadletter.original_truncated": "boolean",
        "deadletter.topic": "keyword",
        "deadletter.partition": "integer",
        "deadletter.offset": "long",
        "event.id": "keyword",
        "event.dataset": "keyword",
    }
    assert props["deadletter"]["properties"]["original"] == {"type": "text", "index": False}


def test_alerts_template_types() -> None:
    body = alerts_index_template(Settings())
    assert body["index_patterns"] == ["bitacora-alerts*"]
    assert body["data_stream"] == {}
    props = body["template"]["mappings"]["properties"]
    assert leaf_types(props) == {
        "@timestamp": "date",
        "id": "keyword",
        "rule": "keyword",
        "key": "keyword",
        "dedup_key": "keyword",
        "status": "keyword",
        "severity": "keyword",
        "count": "long",
        "first_event_time": "date",
        "last_event_time": "date",
        "created_at": "date",
        "description": "text",
        "search_query": "keyword",
        "search_url": "keyword",
        "search_command": "keyword",
        "event": "object",
        "samples": "object",
        "extra": "object",
    }
    for stored_only in ("event", "samples", "extra"):
        assert props[stored_only] == {"type": "object", "enabled": False}


def test_index_templates_names() -> None:
    assert list(index_templates(Settings())) == [
        "bitacora-logs",
        "bitacora-alerts",
        "bitacora-deadletter",
    ]


@pytest.mark.parametrize(
    "factory",
    [templates.logs_index_template, alerts_index_template, deadletter_index_template],
)
def test_every_template_is_a_dynamic_false_data_stream(factory: Any) -> None:
    body = factory(Settings())
    assert body["template"]["mappings"]["dynamic"] is False
    assert body["data_stream"] == {}
    assert body["template"]["settings"]["index"]["refresh_interval"] == "1s"
    assert body["template"]["settings"]["index"]["merge_on_flush"] == {"enabled": False}
