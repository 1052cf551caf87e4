"""OTLP log requests → one plain map per ``LogRecord`` (pure; see normalize.sources.otlp).

The map keeps the protobuf field names and only the fields that are set; attribute and
body values (``AnyValue``) become plain values (bytes as base64 text); trace and span ids
become lowercase hex. A record whose trace id is not 16 bytes or span id not 8 bytes is
rejected (``partial_success``). JSON requests follow OTLP/JSON: camelCase or snake_case
keys, ids in hex, 64-bit integers as strings or numbers.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Final, Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

Encoding = Literal["protobuf", "json"]
_ID_LENGTHS: Final = (("trace_id", 16), ("span_id", 8))
_JSON_IDS: Final = ("traceId", "spanId", "trace_id", "span_id")


class BadRequest(ValueError):
    """The body is not an OTLP logs request (HTTP 400, gRPC INVALID_ARGUMENT)."""


def _hex_ids_to_base64(document: Any) -> None:
    # OTLP/JSON spells trace and span ids in hex, the protobuf JSON mapping in base64.
    for resource in document.get("resourceLogs") or document.get("resource_logs") or ():
        scopes = resource.get("scopeLogs") or resource.get("scope_logs") or ()
        for scope in scopes:
            for record in scope.get("logRecords") or scope.get("log_records") or ():
                for key in _JSON_IDS:
                    value = record.get(key) if type(record) is dict else None
                    if type(value) is str and value:
                        try:
                            raw = bytes.fromhex(value)
                        except ValueError:
                            raw = b"\x00"  # not hex: rejected as a bad id below
                        record[key] = base64.b64encode(raw).decode()


def parse_request(body: bytes, encoding: Encoding) -> ExportLogsServiceRequest:
    """The request message; raises BadRequest when the body is not one."""
    request = ExportLogsServiceRequest()
    if encoding == "protobuf":
        try:
            request.ParseFromString(body)
        except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
            raise BadRequest(
                f"body is not an OTLP protobuf ExportLogsServiceRequest: {exc}"
            ) from exc
        return request
    try:
        document = json.loads(body)
        if type(document) is not dict:
            raise BadRequest("OTLP/JSON body must be an object")
        _hex_ids_to_base64(document)
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except BadRequest:
        raise
    except (ValueError, AttributeError, TypeError, json_format.ParseError) as exc:
        raise BadRequest(f"body is not an OTLP/JSON logs request: {exc}") from exc
    return request


def any_value(value: AnyValue) -> Any:
    """A plain value for an ``AnyValue`` (None when unset)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    """``repeated KeyValue`` as a map (later duplicates win)."""
    out: dict[str, Any] = {}
    item: KeyValue
    for item in pairs:
        out[item.key] = any_value(item.value)
    return out


def log_records(
    request: ExportLogsServiceRequest,
) -> tuple[list[dict[str, Any]], list[str], list[tuple[str, bytes]]]:
    """``(records, services, rejects)``: the record maps in request order, each record's
    ``service.name`` (its Kafka key; ``otlp`` when the resource has none) and
    ``(reason, original JSON)`` for rejected records."""
    records: list[dict[str, Any]] = []
    services: list[str] = []
    rejects: list[tuple[str, bytes]] = []
    for resource_logs in request.resource_logs:
        resource = attributes(resource_logs.resource.attributes)
        service = resource.get("service.name")
        key = service if type(service) is str and service else "otlp"
        for scope_logs in resource_logs.scope_logs:
            scope: dict[str, Any] = {}
            if scope_logs.scope.name:
                scope["name"] = scope_logs.scope.name
            if scope_logs.scope.version:
                scope["version"] = scope_logs.scope.version
            if scope_logs.scope.attributes:
                scope["attributes"] = attributes(scope_logs.scope.attributes)
            for log in scope_logs.log_records:
                bad = [
                    name for name, size in _ID_LENGTHS if len(getattr(log, name)) not in (0, size)
                ]
                if bad:
                    original = json_format.MessageToJson(log, indent=None).encode()
                    rejects.append((f"bad_{bad[0]}", original))
                    continue
                record: dict[str, Any] = {}
                if resource:
                    record["resource"] = resource
                if scope:
                    record["scope"] = scope
                for name in ("time_unix_nano", "observed_time_unix_nano", "severity_number"):
                    number = getattr(log, name)
                    if number:
                        record[name] = int(number)
                if log.severity_text:
                    record["severity_text"] = log.severity_text
                if log.HasField("body"):
                    record["body"] = any_value(log.body)
                if log.attributes:
                    record["attributes"] = attributes(log.attributes)
                if log.trace_id:
                    record["trace_id"] = log.trace_id.hex()
                if log.span_id:
                    record["span_id"] = log.span_id.hex()
                if log.flags:
                    record["flags"] = log.flags
                if log.event_name:
                    record["event_name"] = log.event_name
                records.append(record)
                services.append(key)
    return records, services, rejects
