"""OpenSearch index templates, as pure functions returning the request bodies.

Every stream Bitácora writes is a data stream (append-only, ``@timestamp`` required, rolled
over by ISM), so each template carries ``"data_stream": {}``. The mapping is the contract of
ARCHITECTURE.md's event table: search, rules and dashboards rely on these exact types.

``dynamic: false`` at the root: a field nobody declared is kept in ``_source`` (visible in a
search hit) but never added to the mapping, so a chatty service cannot explode the mapping or
make a later event fail with a type conflict. Everything a sender adds beyond the contract
arrives flattened in ``labels`` (a ``flat_object``: one field in the mapping however many keys).

Each body carries ``_meta.bitacora_hash``, a digest of the rest of the body, so ``bitacora
setup`` can tell "already up to date" from "changed" without comparing OpenSearch's
normalized echo of the template; the mapping carries it too (``mappings._meta``), so setup
can find data streams whose write index still has an older mapping and roll them over
(a template change only reaches indices created after it).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from bitacora import schema
from bitacora.settings import Settings

LOGS_TEMPLATE: Final = "bitacora-logs"
ALERTS_TEMPLATE: Final = "bitacora-alerts"
DEADLETTER_TEMPLATE: Final = "bitacora-deadletter"
DEFAULT_PRIORITY: Final = 200
TEMPLATE_FORMAT: Final = 2  # 2: the digest is also in mappings._meta

# error.message is aggregated ("top errors" in the weekly review): a keyword subfield, capped
# so a multi-kilobyte message stays searchable as text but is not indexed as one huge term.
ERROR_MESSAGE_KEYWORD_MAX: Final = 1024
# Dead-letter reasons quote the offending value; long ones stay in _source only.
REASON_KEYWORD_MAX: Final = 4096

_KEYWORD: Final = {"type": "keyword"}
_TEXT: Final = {"type": "text"}
_STORED_ONLY_TEXT: Final = {"type": "text", "index": False}


def _obj(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"properties": properties}


def event_properties() -> dict[str, Any]:
    """The mapping ``properties`` of a normalized event (ARCHITECTURE.md event table)."""
    return {
        "@timestamp": {"type": "date_nanos"},
        "message": dict(_TEXT),
        "event": _obj(
            ingested={"type": "date"},
            id=dict(_KEYWORD),
            dataset=dict(_KEYWORD),
            severity={"type": "integer"},
            duration={"type": "long"},  # nanoseconds, as ECS
        ),
        "log": _obj(
            level=dict(_KEYWORD),
            logger=dict(_KEYWORD),
            file=_obj(path=dict(_KEYWORD)),
            syslog=_obj(facility=dict(_KEYWORD), severity=dict(_KEYWORD)),
        ),
        "service": _obj(name=dict(_KEYWORD), environment=dict(_KEYWORD)),
        "host": _obj(name=dict(_KEYWORD)),
        "kubernetes": _obj(
            namespace=dict(_KEYWORD),
            pod=_obj(name=dict(_KEYWORD)),
            container=_obj(name=dict(_KEYWORD)),
        ),
        "trace": _obj(id=dict(_KEYWORD)),
        "span": _obj(id=dict(_KEYWORD)),
        "error": _obj(
            type=dict(_KEYWORD),
            message={
                "type": "text",
                "fields": {
                    "keyword": {"type": "keyword", "ignore_above": ERROR_MESSAGE_KEYWORD_MAX}
                },
            },
            # Indexed: "which requests went through com.flores.OrderService" is a search
            # people run; stack traces are rare enough that the cost does not matter.
            stack_trace=dict(_TEXT),
        ),
        "http": _obj(
            request=_obj(method=dict(_KEYWORD)),
            response=_obj(status_code={"type": "integer"}),
        ),
        "url": _obj(path=dict(_KEYWORD)),
        "client": _obj(ip={"type": "ip"}),
        "labels": {"type": "flat_object"},
    }


def alert_properties() -> dict[str, Any]:
    """The mapping ``properties`` of an alert document in ``bitacora-alerts*``.

    The document is ``rules.alerts.Alert.to_document()``: flat top-level fields. The
    triggering event, the samples and the rule-type extras are stored for display but not
    mapped (``enabled: false``): they hold arbitrary, possibly long values, and an alert
    must never be refused for the shape of the event that caused it.
    """
    stored_only = {"type": "object", "enabled": False}
    return {
        "@timestamp": {"type": "date"},
        "id": dict(_KEYWORD),
        "rule": dict(_KEYWORD),
        "key": dict(_KEYWORD),
        "dedup_key": dict(_KEYWORD),
        "status": dict(_KEYWORD),
        "severity": dict(_KEYWORD),
        "count": {"type": "long"},
        "first_event_time": {"type": "date"},
        "last_event_time": {"type": "date"},
        "created_at": {"type": "date"},
        "description": dict(_TEXT),
        "search_query": {"type": "keyword", "ignore_above": 4096},
        "search_url": {"type": "keyword", "index": False, "doc_values": False},
        "search_command": {"type": "keyword", "index": False, "doc_values": False},
        "event": dict(stored_only),
        "samples": dict(stored_only),
        "extra": dict(stored_only),
    }


def deadletter_properties() -> dict[str, Any]:
    """The mapping ``properties`` of a dead letter in ``bitacora-deadletter*``."""
    return {
        "@timestamp": {"type": "date"},
        "deadletter": _obj(
            stage=dict(_KEYWORD),
            error_type=dict(_KEYWORD),
            reason={"type": "keyword", "ignore_above": REASON_KEYWORD_MAX},
            # The (redacted) payload is kept to replay it, not to search it.
            original=dict(_STORED_ONLY_TEXT),
            original_encoding=dict(_KEYWORD),
            original_bytes={"type": "long"},
            original_truncated={"type": "boolean"},
            topic=dict(_KEYWORD),
            partition={"type": "integer"},
            offset={"type": "long"},
        ),
        "event": _obj(id=dict(_KEYWORD), dataset=dict(_KEYWORD)),
    }


def _template(
    settings: Settings, pattern: str, properties: dict[str, Any], priority: int, purpose: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "index_patterns": [pattern],
        "data_stream": {},
        "priority": priority,
        "template": {
            "settings": {
                "index": {
                    "number_of_shards": settings.index_shards,
                    "number_of_replicas": settings.index_replicas,
                    # The contract: an event is searchable about a second after it is stored.
                    "refresh_interval": "1s",
                    # A refresh never waits for merges. OpenSearch's default lets each
                    # refresh wait up to 10 s for merges of the segments it just wrote (the
                    # refresh pool has one thread per two cores), which put searchability
                    # seconds behind under load; those merges still run, in the background.
                    "merge_on_flush": {"enabled": False},
                }
            },
            "mappings": {"dynamic": False, "properties": properties},
        },
    }
    digest = body_hash(body)
    body["_meta"] = {"managed_by": "bitacora", "purpose": purpose, "bitacora_hash": digest}
    # Every backing index created from this template records the digest in its mapping, so
    # setup can tell a stream still writing with an older mapping (and roll it over).
    body["template"]["mappings"]["_meta"] = {"bitacora_hash": digest}
    return body


def body_hash(body: dict[str, Any]) -> str:
    """A short digest of a template body, ignoring the ``_meta`` entries that hold it."""
    rest = {k: v for k, v in body.items() if k != "_meta"}
    template = dict(rest.get("template") or {})
    if "mappings" in template:
        template["mappings"] = {k: v for k, v in template["mappings"].items() if k != "_meta"}
        rest["template"] = template
    # The format version changes the digest whenever what the digests mean changes.
    canonical = json.dumps([TEMPLATE_FORMAT, rest], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def logs_index_template(
    settings: Settings, *, pattern: str = schema.LOGS_PATTERN, priority: int = DEFAULT_PRIORITY
) -> dict[str, Any]:
    """The index template for the ``logs-*`` data streams (normalized events).

    ``pattern``/``priority`` exist so tests can install an isolated copy (a unique pattern
    overlapping ``logs-*`` needs a different priority than the shipped template).
    """
    return _template(settings, pattern, event_properties(), priority, "normalized log events")


def alerts_index_template(
    settings: Settings, *, pattern: str = schema.ALERTS_PATTERN, priority: int = DEFAULT_PRIORITY
) -> dict[str, Any]:
    """The index template for the ``bitacora-alerts*`` data streams."""
    return _template(settings, pattern, alert_properties(), priority, "alerts")


def deadletter_index_template(
    settings: Settings,
    *,
    pattern: str = schema.DEADLETTER_PATTERN,
    priority: int = DEFAULT_PRIORITY,
) -> dict[str, Any]:
    """The index template for the ``bitacora-deadletter*`` data streams."""
    return _template(settings, pattern, deadletter_properties(), priority, "dead letters")


def index_templates(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every template ``bitacora setup`` installs, by template name."""
    return {
        LOGS_TEMPLATE: logs_index_template(settings),
        ALERTS_TEMPLATE: alerts_index_template(settings),
        DEADLETTER_TEMPLATE: deadletter_index_template(settings),
    }
