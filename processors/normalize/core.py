"""``normalize``: one raw record in, one OpenSearch document (event table fields) out."""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Final

from bitacora.errors import DecodeError
from bitacora.processors.normalize.checks import IDENT, KINDS, check, check_kind
from bitacora.processors.normalize.config import DEFAULT_CONFIG, NormalizeConfig
from bitacora.processors.normalize.extract import (
    Candidates,
    add_candidate,
    candidate_list,
    collect,
    pop_paths,
)
from bitacora.processors.normalize.fields import Builder, to_text
from bitacora.processors.normalize.ids import event_id
from bitacora.processors.normalize.jsonbytes import to_json_bytes
from bitacora.processors.normalize.levels import (
    DEFAULT_LEVEL,
    ERROR_LEVEL,
    FATAL_LEVEL,
    level_from_status,
    parse_level,
)
from bitacora.processors.normalize.parsers import parse_body
from bitacora.processors.normalize.parsers.healthcheck import health_hints
from bitacora.processors.normalize.parsers.mongodb import is_mongodb, parse_mongodb
from bitacora.processors.normalize.parsers.stacktrace import (
    exception_line,
    find_exception,
    has_trace,
)
from bitacora.processors.normalize.sources import SOURCES
from bitacora.processors.normalize.timefmt import format_ms, format_ns, parse_time, valid_ns
from bitacora.rawrecord import RawRecord

# Typed as a variable-length tuple, so the compiled build loops over it by index.
_BODY_KEYS: Final[tuple[tuple[str, int], ...]] = (
    ("log", 2),
    ("message", 0),
    ("msg", 1),
    ("MESSAGE", 3),
)
_BY_PRIORITY: Final = itemgetter(0)
_SERVICE_LABELS: Final = ("app.kubernetes.io/name", "app", "k8s-app")
# Keyword fields in table order (after the fixed head); strings capped at the label cap.
_KEYWORDS: Final[tuple[str, ...]] = (
    "log.logger",
    "log.file.path",
    "service.name",
    "service.environment",
    "host.name",
    "kubernetes.namespace",
    "kubernetes.pod.name",
    "kubernetes.container.name",
    "trace.id",
    "span.id",
    "error.type",
    "log.syslog.facility",
    "log.syslog.severity",
)
_ERROR_TEXTS: Final[tuple[str, ...]] = ("error.message", "error.stack_trace")
# The document's own text fields (Builder.field), by cap: keyword size, max_field_bytes.
_KEYWORD_FIELDS: Final[tuple[str, ...]] = ("event.dataset", *_KEYWORDS, "url.path")
_TEXT_FIELDS: Final[tuple[str, ...]] = ("message", *_ERROR_TEXTS)
# Values a protocol states outright (normalize.sources) win over every other candidate.
_PINNED: Final = -2


def _choose(candidates: Candidates, fields: dict[Any, Any]) -> dict[str, Any]:
    # The best valid candidate per target; consumed record fields leave ``fields``.
    chosen: dict[str, Any] = {}
    nested: list[tuple[str, ...]] = []
    kinds = KINDS
    for target, found in candidates.items():
        if target == "@time":
            continue
        kind = kinds.get(target, IDENT)
        # The winner's path and whether it is consumed, read out of it: a variable holding
        # the winner itself would box a new tuple per target in the compiled build.
        if isinstance(found, tuple):  # the common case (one candidate): no list, no sort
            result = check_kind(kind, found[2], found[3])
            path, consumed = found[1], found[4]
        else:
            found.sort(key=_BY_PRIORITY)
            result = None
            path, consumed = None, False
            for candidate in found:
                result = check_kind(kind, candidate[2], candidate[3])
                if result is not None:
                    path, consumed = candidate[1], candidate[4]
                    break
        if result is None:
            continue
        chosen[target] = result
        if consumed and path is not None:
            if len(path) == 1:
                if path[0] in fields:  # not fields.pop(key, None): a method call
                    del fields[path[0]]
            else:
                nested.append(path)
    if nested:
        pop_paths(fields, nested)
    return chosen


def _event_time(raw: RawRecord, candidates: Candidates, fields: dict[Any, Any]) -> int:
    # The client's forward time wins; else the record's own time; else arrival time.
    if valid_ns(raw.time_ns):
        return raw.time_ns
    found = candidate_list(candidates.get("@time", []))
    found.sort(key=_BY_PRIORITY)
    for _, path, value, _, _ in found:
        ns = parse_time(value)
        if ns is not None:
            if path is not None:
                pop_paths(fields, [path])
            return ns
    if valid_ns(raw.received_ns):
        return raw.received_ns
    raise DecodeError("record has no usable time (client time, record time, received time)")


_TAG_SERVICES: dict[str, str] = {}


def _tag_service(tag: str) -> str:
    # The tag's first dot-separated part (tags repeat: cached, bounded).
    service = _TAG_SERVICES.get(tag)
    if service is None:
        if len(_TAG_SERVICES) >= 4096:
            _TAG_SERVICES.clear()
        service = _TAG_SERVICES[tag] = tag.partition(".")[0]
    return service


def _service_from_kubernetes(fields: dict[Any, Any]) -> str | None:
    kube = fields.get("kubernetes")
    labels = kube.get("labels") if type(kube) is dict else None
    if type(labels) is not dict:
        return None
    for key in _SERVICE_LABELS:
        name = check("service.name", labels.get(key), None)
        if name is not None:
            return str(name)
    return None


def _exceptions(chosen: dict[str, Any]) -> None:
    # Fill error.* from exception text in dedicated fields or in the message.
    stack = chosen.get("error.stack_trace")
    text = chosen.pop("@exc", None)
    found = None
    if stack is None and text is not None:
        found = find_exception(text)
        chosen["error.stack_trace"] = found[3] if found else text
    elif stack is not None and "error.type" not in chosen:
        found = find_exception(stack)
    else:
        message = chosen.get("message")
        if stack is None and message is not None and has_trace(message):
            found = find_exception(message)
            if found is not None:
                head, error_type, error_message, trace = found
                chosen["message"] = head or exception_line(error_type, error_message)
                chosen["error.stack_trace"] = trace
    if found is not None:
        chosen.setdefault("error.type", found[1])
        if found[2] is not None:
            chosen.setdefault("error.message", found[2])


def _level(chosen: dict[str, Any], sniffed: Any) -> tuple[str, int]:
    level: tuple[str, int] | None = chosen.get("log.level")
    if level is None and sniffed is not None:
        level = parse_level(sniffed)
    if level is not None:
        return level
    if "error.type" in chosen:
        return FATAL_LEVEL if chosen["error.type"] == "panic" else ERROR_LEVEL
    status = chosen.get("http.response.status_code")
    return level_from_status(status) if status is not None else DEFAULT_LEVEL


def normalize(
    raw: RawRecord,
    partition: int,
    offset: int,
    config: NormalizeConfig = DEFAULT_CONFIG,
    index: int = 0,
) -> dict[str, Any]:
    """The OpenSearch document for one raw record (flat dotted keys, see ARCHITECTURE.md).

    ``partition``, ``offset`` and ``index`` (the event's place in a bundle) say where the
    raw record was read from Kafka. Pure: the same input gives the same document. Raises
    DecodeError (and nothing else) when the record cannot be normalized at all: it is not
    a map, or no time is usable.
    """
    return _guarded(raw, partition, offset, config, index)[0]


def normalize_json(
    raw: RawRecord,
    partition: int,
    offset: int,
    config: NormalizeConfig = DEFAULT_CONFIG,
    index: int = 0,
) -> tuple[dict[str, Any], bytes]:
    """:func:`normalize` and the document's :func:`to_json_bytes`, told whether the
    document holds a float (only ``labels`` can), so a float-free one is not searched for
    float text."""
    doc, floats = _guarded(raw, partition, offset, config, index)
    return doc, to_json_bytes(doc, floats)


def _guarded(
    raw: RawRecord, partition: int, offset: int, config: NormalizeConfig, index: int
) -> tuple[dict[str, Any], bool]:
    # (document, whether it holds a float); DecodeError for whatever goes wrong.
    record = getattr(raw, "record", None)
    if type(record) is not dict:
        raise DecodeError(f"record is a {type(record).__name__}, not a map")
    tag = to_text(getattr(raw, "tag", None))
    if tag is None:
        raise DecodeError(f"tag is a {type(getattr(raw, 'tag', None)).__name__}, not a string")
    try:
        return _normalize(raw, record, tag, partition, offset, config, index)
    except DecodeError:
        raise
    except Exception as exc:  # a bug must dead-letter one event, not stop the worker
        raise DecodeError(f"cannot normalize record: {type(exc).__name__}: {exc}") from exc


def _normalize(
    raw: RawRecord,
    record: dict[Any, Any],
    tag: str,
    partition: int,
    offset: int,
    config: NormalizeConfig,
    index: int,
) -> tuple[dict[str, Any], bool]:
    fields = dict(record)
    pinned: dict[str, Any] = {}
    source = SOURCES.get(raw.transport)  # forward and HTTP records are the sender's map
    if source is not None:
        fields, pinned = source(fields, raw.received_ns)
    hints: dict[str, Any] = {}
    body_priority = 0
    if "s" in fields and "t" in fields and is_mongodb(fields):
        hints = parse_mongodb(fields)  # already structured: no body to parse
    if not hints and "message" not in pinned:  # MongoDB records, stated messages: no body
        for key, priority in _BODY_KEYS:
            body = fields.get(key)
            if type(body) is str or type(body) is bytes:
                text = to_text(body)
                if text:
                    del fields[key]
                    checked = None
                    health_services = config.health_check_services
                    if health_services and _tag_service(tag) in health_services:
                        checked = health_hints(text, config.compiled_health)
                    hints = checked if checked is not None else parse_body(text)
                    body_priority = priority
                    inner = hints.get("@fields")
                    if inner is not None:
                        del hints["@fields"]
                        fields.update(inner)
                break
    if "s" in fields and "t" in fields and is_mongodb(fields):
        hints.update(parse_mongodb(fields))

    candidates: Candidates = {}
    collect(fields, candidates)
    sniffed = None
    for target, value in hints.items():
        if target[0] != "@" or target == "@time":
            priority = body_priority if target == "message" else -1
            arg = 1 if target == "event.duration" else None  # parsers give nanoseconds
            add_candidate(candidates, target, (priority, None, value, arg, False))
        elif target == "@level":
            sniffed = value
    if pinned:
        fallback_level = pinned.pop("@level", None)  # syslog's PRI: the message's own wins
        if sniffed is None:
            sniffed = fallback_level
        for target, value in pinned.items():
            add_candidate(candidates, target, (_PINNED, None, value, None, False))
    chosen = _choose(candidates, fields)
    time_ns = _event_time(raw, candidates, fields)
    _exceptions(chosen)
    level, severity = _level(chosen, sniffed)
    extra = hints.get("@labels")
    if extra:
        for key, value in extra.items():
            fields.setdefault(key, value)

    service = chosen.get("service.name") or _service_from_kubernetes(fields)
    if service is None:
        service = _tag_service(tag) or "unknown"

    builder = Builder(config)
    doc: dict[str, Any] = {"@timestamp": format_ns(time_ns)}
    if valid_ns(raw.received_ns):
        doc["event.ingested"] = format_ms(raw.received_ns)
    doc["event.id"] = event_id(raw.chunk, raw.position, partition, offset, index)
    keyword_cap = builder.label_cap
    builder.field(doc, "event.dataset", tag, keyword_cap)
    doc["event.severity"] = severity
    message = chosen.get("message")
    if message is not None:
        builder.field(doc, "message", message, config.max_field_bytes)
    doc["log.level"] = level
    chosen["service.name"] = service
    texts = builder.texts
    for name in _KEYWORDS:  # Builder.field inlined: up to ten fields per event
        value = chosen.get(name)
        if value is not None:
            doc[name] = value
            texts.append(value)
            if len(value) * 4 > keyword_cap:
                builder.long.append((doc, name, keyword_cap))
    for name in _ERROR_TEXTS:
        value = chosen.get(name)
        if value is not None:
            builder.field(doc, name, value, config.max_field_bytes)
    if "http.request.method" in chosen:
        doc["http.request.method"] = chosen["http.request.method"]
    if "http.response.status_code" in chosen:
        doc["http.response.status_code"] = chosen["http.response.status_code"]
    if "url.path" in chosen:
        builder.field(doc, "url.path", chosen["url.path"], keyword_cap)
    if "client.ip" in chosen:
        doc["client.ip"] = chosen["client.ip"]
    if "event.duration" in chosen:
        doc["event.duration"] = chosen["event.duration"]
    if fields:
        labels = builder.labels(fields)
        if labels:
            doc["labels"] = labels
    builder.finish(doc, _KEYWORD_FIELDS, _TEXT_FIELDS)
    return doc, builder.floats


__all__ = ["normalize", "normalize_json", "to_json_bytes"]
