"""OTLP log records (``transport == "otlp"``) as the collector stores them.

The collector (``collector.otlp.decode``) writes one map per ``LogRecord``, with the
protobuf field names and only the fields that are set::

    {"resource": {attribute: value}, "scope": {"name", "version", "attributes"},
     "time_unix_nano", "observed_time_unix_nano", "severity_number", "severity_text",
     "body", "attributes": {attribute: value}, "trace_id" (hex), "span_id" (hex),
     "flags", "event_name"}

Mapping: resource ``service.name``, ``host.name``, ``k8s.namespace.name``,
``k8s.pod.name``, ``k8s.container.name``, ``deployment.environment(.name)`` to their
event-table fields, ``service.namespace``/``service.version`` to ``labels.service``,
other resource attributes to ``labels.resource``; the scope name is ``log.logger``;
``severity_number`` (else ``severity_text``) gives ``log.level``; a string body is the
message, a map body is merged into the labels with the message taken from ``message``,
``msg``, ``log`` or ``body``; attributes are read like a sender's fields (so
``exception.type`` is ``error.type``) and the rest are labels; ``time_unix_nano``, else
``observed_time_unix_nano``, is ``@timestamp`` with its nanoseconds.
"""

from __future__ import annotations

import json
from typing import Any, Final

from bitacora.processors.normalize.levels import parse_level

_RESOURCE_TARGETS: Final = (
    ("service.name", "service.name"),
    ("host.name", "host.name"),
    ("k8s.namespace.name", "kubernetes.namespace"),
    ("k8s.pod.name", "kubernetes.pod.name"),
    ("k8s.container.name", "kubernetes.container.name"),
    ("deployment.environment.name", "service.environment"),
    ("deployment.environment", "service.environment"),
)
_SERVICE_LABELS: Final = ("service.namespace", "service.version")
_MESSAGE_KEYS: Final = ("message", "msg", "log", "body")


def _level(record: dict[Any, Any]) -> str | None:
    number = record.get("severity_number")
    found = parse_level(number, "otel") if number else None
    if found is None and record.get("severity_text"):
        found = parse_level(record["severity_text"])
    return found[0] if found is not None else None


def _message(body: Any, fields: dict[Any, Any]) -> str | None:
    if body is None:
        return None
    if type(body) is str:
        return body
    if type(body) is dict:
        rest = dict(body)
        message = None
        for key in _MESSAGE_KEYS:
            if type(rest.get(key)) is str:
                message = rest.pop(key)
                break
        for key, value in rest.items():
            fields.setdefault(key, value)
        return message
    if type(body) is bytes:
        return body.hex()
    return json.dumps(body, ensure_ascii=False, default=str)


def from_otlp(record: dict[Any, Any], received_ns: int) -> tuple[dict[Any, Any], dict[str, Any]]:
    """``(fields, pinned)`` for one OTLP log record (see the module docstring)."""
    pinned: dict[str, Any] = {}
    fields: dict[Any, Any] = {}
    attributes = record.get("attributes")
    if type(attributes) is dict:
        fields.update(attributes)
    resource = record.get("resource")
    resource = dict(resource) if type(resource) is dict else {}
    for key, target in _RESOURCE_TARGETS:
        value = resource.pop(key, None)
        if value is not None and target not in pinned:
            pinned[target] = value
    service = {key[8:]: resource.pop(key) for key in _SERVICE_LABELS if key in resource}
    if service:
        fields["service"] = service
    if resource:
        fields["resource"] = resource
    scope = record.get("scope")
    if type(scope) is dict:
        scope = dict(scope)
        if scope.get("name"):
            pinned["log.logger"] = scope.pop("name")
        if scope:
            fields["scope"] = scope
    level = _level(record)
    if level is not None:
        pinned["log.level"] = level
    message = _message(record.get("body"), fields)
    if message is not None:
        pinned["message"] = message
    for key, target in (("trace_id", "trace.id"), ("span_id", "span.id")):
        if record.get(key):
            pinned[target] = record[key]
    if record.get("event_name"):
        fields["event_name"] = record["event_name"]
    when = record.get("time_unix_nano") or record.get("observed_time_unix_nano")
    if when:
        pinned["@time"] = when
    return fields, pinned
