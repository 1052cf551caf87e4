"""``normalize``: one raw record in, one OpenSearch document (event table fields) out."""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Final

from bitacora.errors import DecodeError
from bitacora.processors.normalize.checks import check
from bitacora.processors.normalize.config import DEFAULT_CONFIG, NormalizeConfig
from bitacora.processors.normalize.extract import (
    TARGET,
    Choice,
    TimeCandidate,
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
from bitacora.processors.normalize.parsers.plain import sniff_level
from bitacora.processors.normalize.parsers.stacktrace import (
    exception_line,
    find_exception,
    has_trace,
)
from bitacora.processors.normalize.sources import SOURCES
from bitacora.processors.normalize.timefmt import format_ms, format_ns, parse_time, valid_ns
from bitacora.rawrecord import RawRecord
from bitacora.redact import hex_beyond_rules

# Typed as a variable-length tuple, so the compiled build loops over it by index.
_BODY_KEYS: Final[tuple[tuple[str, int], ...]] = (
    ("log", 2),
    ("message", 0),
    ("msg", 1),
    ("MESSAGE", 3),
)
_BY_PRIORITY: Final = itemgetter(0)
_SERVICE_LABELS: Final = ("app.kubernetes.io/name", "app", "k8s-app")
# Event-table fields by their number in extract.TARGETS (an event's choices are a list).
_MESSAGE: Final = TARGET["message"]
_LEVEL: Final = TARGET["log.level"]
_SERVICE: Final = TARGET["service.name"]
_ERROR_TYPE: Final = TARGET["error.type"]
_ERROR_MESSAGE: Final = TARGET["error.message"]
_STACK: Final = TARGET["error.stack_trace"]
_EXC: Final = TARGET["@exc"]
_METHOD: Final = TARGET["http.request.method"]
_STATUS: Final = TARGET["http.response.status_code"]
_URL_PATH: Final = TARGET["url.path"]
_CLIENT_IP: Final = TARGET["client.ip"]
_DURATION: Final = TARGET["event.duration"]
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
_KEYWORD_NUMBERS: Final[tuple[int, ...]] = tuple(TARGET[name] for name in _KEYWORDS)
_IDS: Final[tuple[bool, ...]] = tuple(name in ("trace.id", "span.id") for name in _KEYWORDS)
_ERROR_TEXTS: Final[tuple[str, ...]] = ("error.message", "error.stack_trace")
# The document's own text fields (Builder.field), by cap: keyword size, max_field_bytes.
_KEYWORD_FIELDS: Final[tuple[str, ...]] = ("event.dataset", *_KEYWORDS, "url.path")
_TEXT_FIELDS: Final[tuple[str, ...]] = ("message", *_ERROR_TEXTS)
# Values a protocol states outright (normalize.sources) win over every other candidate.
_PINNED: Final = -2
# Reused from event to event (normalize runs one event at a time), reset before each.
_CHOICE: Final = Choice()
_BUILDER: Final = Builder(DEFAULT_CONFIG)


def _event_time(raw: RawRecord, found: list[TimeCandidate], fields: dict[Any, Any]) -> int:
    # The client's forward time wins; else the record's own time; else arrival time.
    if valid_ns(raw.time_ns):
        return raw.time_ns
    found.sort(key=_BY_PRIORITY)
    for _, path, value in found:
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


def _exceptions(chosen: list[Any]) -> None:
    # Fill error.* from exception text in dedicated fields or in the message.
    stack = chosen[_STACK]
    text = chosen[_EXC]
    found = None
    if stack is None and text is not None:
        found = find_exception(text)
        chosen[_STACK] = found[3] if found else text
    elif stack is not None and chosen[_ERROR_TYPE] is None:
        found = find_exception(stack)
    else:
        message = chosen[_MESSAGE]
        if stack is None and message is not None and has_trace(message):
            found = find_exception(message)
            if found is not None:
                head, error_type, error_message, trace = found
                chosen[_MESSAGE] = head or exception_line(error_type, error_message)
                chosen[_STACK] = trace
    if found is not None:
        if chosen[_ERROR_TYPE] is None:
            chosen[_ERROR_TYPE] = found[1]
        if found[2] is not None and chosen[_ERROR_MESSAGE] is None:
            chosen[_ERROR_MESSAGE] = found[2]


def _level(chosen: list[Any], hinted: Any, plain: Any, fallback: Any) -> tuple[str, int]:
    # The chosen level, else the body's: a parser's hint, or the level word of a plain line
    # (sniffed only here, when no field gave a level), else a protocol's fallback.
    level: tuple[str, int] | None = chosen[_LEVEL]
    if level is not None:
        return level
    if hinted is None and plain is not None:
        hinted = sniff_level(plain)
    if hinted is None:
        hinted = fallback
    if hinted is not None:
        level = parse_level(hinted)
        if level is not None:
            return level
    if chosen[_ERROR_TYPE] is not None:
        return FATAL_LEVEL if chosen[_ERROR_TYPE] == "panic" else ERROR_LEVEL
    status = chosen[_STATUS]
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
    raw record was read from Kafka. Pure: the same input gives the same document (its
    scratch objects are reused from event to event, so a process normalizes one event at
    a time, as the stage does; not from several threads at once). Raises
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

    choice = _CHOICE
    choice.reset()
    collect(fields, choice)
    hinted = None
    plain = hints.get("@plain")  # a plain line: its level word is sniffed only if needed
    for name, value in hints.items():
        if name[0] != "@" or name == "@time":
            target = TARGET.get(name)
            if target is not None:  # a field no target holds would never be stored
                priority = body_priority if target == _MESSAGE else -1
                arg = 1 if target == _DURATION else None  # parsers give nanoseconds
                choice.offer(target, priority, value, arg, None)
        elif name == "@level":
            hinted = value
    fallback_level = None
    if pinned:
        fallback_level = pinned.pop("@level", None)  # syslog's PRI: the message's own wins
        for name, value in pinned.items():
            target = TARGET.get(name)
            if target is not None:
                choice.offer(target, _PINNED, value, None, None)
    choice.consume(fields)
    chosen = choice.values
    time_ns = _event_time(raw, choice.times, fields)
    _exceptions(chosen)
    level, severity = _level(chosen, hinted, plain, fallback_level)
    extra = hints.get("@labels")
    if extra:
        for key, value in extra.items():
            fields.setdefault(key, value)

    service = chosen[_SERVICE] or _service_from_kubernetes(fields)
    if service is None:
        service = _tag_service(tag) or "unknown"

    builder = _BUILDER
    builder.reset(config)
    doc: dict[str, Any] = {"@timestamp": format_ns(time_ns)}
    if valid_ns(raw.received_ns):
        doc["event.ingested"] = format_ms(raw.received_ns)
    doc["event.id"] = event_id(raw.chunk, raw.position, partition, offset, index)
    keyword_cap = builder.label_cap
    builder.field(doc, "event.dataset", tag, keyword_cap)
    doc["event.severity"] = severity
    message = chosen[_MESSAGE]
    if message is not None:
        builder.field(doc, "message", message, config.max_field_bytes)
    doc["log.level"] = level
    chosen[_SERVICE] = service
    texts = builder.texts
    custom = bool(config.compiled_patterns)
    for position in range(len(_KEYWORDS)):  # Builder.field inlined: up to ten per event
        value = chosen[_KEYWORD_NUMBERS[position]]
        if value is not None:
            name = _KEYWORDS[position]
            doc[name] = value
            # An id of hex digits alone holds nothing the built-in rules find: no pre-check.
            if custom or not (_IDS[position] and hex_beyond_rules(value)):
                texts.append(value)
            if len(value) * 4 > keyword_cap:
                builder.long.append((doc, name, keyword_cap))
    value = chosen[_ERROR_MESSAGE]
    if value is not None:
        builder.field(doc, "error.message", value, config.max_field_bytes)
    value = chosen[_STACK]
    if value is not None:
        builder.field(doc, "error.stack_trace", value, config.max_field_bytes)
    if chosen[_METHOD] is not None:
        doc["http.request.method"] = chosen[_METHOD]
    if chosen[_STATUS] is not None:
        doc["http.response.status_code"] = chosen[_STATUS]
    if chosen[_URL_PATH] is not None:
        builder.field(doc, "url.path", chosen[_URL_PATH], keyword_cap)
    if chosen[_CLIENT_IP] is not None:
        doc["client.ip"] = chosen[_CLIENT_IP]
    if chosen[_DURATION] is not None:
        doc["event.duration"] = chosen[_DURATION]
    if fields:
        labels = builder.labels(fields)
        if labels:
            doc["labels"] = labels
    builder.finish(doc, _KEYWORD_FIELDS, _TEXT_FIELDS)
    return doc, builder.floats


__all__ = ["normalize", "normalize_json", "to_json_bytes"]
