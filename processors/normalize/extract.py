"""Which record fields feed which event-table field (the checks: processors.normalize.checks).

``ALIASES`` maps a record key (or a dotted path into nested ECS-style objects such as
``{"service": {"name": ...}}`` or pino's ``{"req": {"method": ...}}``) to
``(target, priority, argument, consumed, memo)``, the target by its number in
:data:`TARGETS`. Lower priority wins; a value that fails its target's check stays in
``labels`` and the next candidate is tried. ``consumed`` False keeps the original in
``labels`` too (e.g. a full ``url`` only *gives* ``url.path``). The ``argument`` is the
level scale for level fields and the unit (in ns) for durations. ``memo`` remembers what
the check made of the key's string values (host, service and logger names, levels repeat
from event to event), except for targets whose values are new in nearly every event
(messages, trace and span ids, error texts, paths, durations): None there.

:class:`Choice` keeps, per target, the best candidate that passed its check so far: each
candidate is checked as it is found (the record's, then the parsed body's, then the
protocol's), unless one of lower priority already passed. That picks what trying the
candidates in priority order would pick, without gathering them first.
"""

from __future__ import annotations

from typing import Any, Final

from bitacora.processors.normalize.checks import IDENT, KINDS, check_kind
from bitacora.schema import EVENT_FIELDS

# The event-table fields the normalizer fills itself, whatever the record holds.
_FILLED: Final = frozenset(
    {"@timestamp", "event.dataset", "event.id", "event.ingested", "event.severity", "labels"}
)
#: Every other event-table field (a record key, a parsed body or a protocol can give it),
#: and two the normalizer reads: text holding a formatted exception (parsed for error.*),
#: and the record's own time (candidates kept in order, unchecked: ``Choice.times``).
#: Numbered by their place here: an event's choices are kept in lists indexed by them.
TARGETS: Final[tuple[str, ...]] = (*sorted(EVENT_FIELDS - _FILLED), "@exc", "@time")
TARGET: Final[dict[str, int]] = {name: number for number, name in enumerate(TARGETS)}
_COUNT: Final = len(TARGETS)
_TIME: Final = TARGET["@time"]
# Each target's check (checks.KINDS), by number.
_KIND_OF: Final[tuple[int, ...]] = tuple(KINDS.get(name, IDENT) for name in TARGETS)

Memo = dict[str, Any]
Alias = tuple[int, int, Any, bool, Memo | None]
# Targets whose values are new in (nearly) every event: their checks are not remembered.
_UNIQUE: Final = frozenset(
    {
        "message",
        "trace.id",
        "span.id",
        "error.message",
        "error.stack_trace",
        "@exc",
        "@time",
        "url.path",
        "event.duration",
    }
)
_MEMO_MAX: Final = 4096  # values remembered per record key (cleared when full)
_MEMO_MAX_CHARS: Final = 256  # longer values are checked every time
#: A candidate for the record's own time: (priority, where it is in the record or None, value).
TimeCandidate = tuple[int, Any, Any]
_NONES: Final[list[Any]] = [None] * _COUNT


class Choice:
    """Per target (by number), the best valid candidate offered so far: its checked value,
    its priority and, when choosing it consumes the record field, where that field is (a
    key, or a path of keys into nested objects)."""

    values: list[Any]
    paths: list[Any]

    def __init__(self) -> None:
        self.priorities: list[int] = [0] * _COUNT  # read only where a value is kept
        self.times: list[TimeCandidate] = []
        self.reset()

    def reset(self) -> None:
        """Forget every candidate, so one Choice serves event after event."""
        self.values = _NONES.copy()
        self.paths = _NONES.copy()
        self.times.clear()

    def offer(
        self, target: int, priority: int, value: Any, arg: Any, path: Any, memo: Memo | None = None
    ) -> None:
        """Check ``value`` for ``target`` and keep it if it passes and beats what is kept (a
        lower priority; on a tie the earlier offer stays). ``path`` is where the value is
        in the record when choosing it consumes it, else None. Time candidates are kept in
        the order offered, unchecked (``path``: where the value is, consumed or not).
        ``memo`` holds what the check made of string values before (see :data:`ALIASES`)."""
        if target == _TIME:
            self.times.append((priority, path, value))
            return
        values = self.values
        if values[target] is not None and self.priorities[target] <= priority:
            return
        if memo is not None and type(value) is str:
            result = memo.get(value)
            if result is None:
                result = check_kind(_KIND_OF[target], value, arg)
                if result is not None and len(value) <= _MEMO_MAX_CHARS:
                    if len(memo) >= _MEMO_MAX:
                        memo.clear()
                    memo[value] = result
        else:
            result = check_kind(_KIND_OF[target], value, arg)
        if result is not None:
            values[target] = result
            self.priorities[target] = priority
            self.paths[target] = path

    def consume(self, fields: dict[Any, Any]) -> None:
        """Remove the record fields the kept candidates consume from ``fields``."""
        nested: list[tuple[str, ...]] = []
        for path in self.paths:
            if path is None:
                continue
            if type(path) is str:  # a key of fields: each key feeds one target at most
                del fields[path]
            else:
                nested.append(path)
        if nested:
            pop_paths(fields, nested)


ALIASES: Final[dict[str, Alias]] = {}


def _alias(key: str, target: str, priority: int, arg: Any, consumed: bool = True) -> None:
    memo: Memo | None = None if target in _UNIQUE else {}
    ALIASES[key] = (TARGET[target], priority, arg, consumed, memo)


def _aliases(target: str, *keys: str, arg: Any = None, consumed: bool = True) -> None:
    for priority, key in enumerate(keys):  # in order of preference
        _alias(key, target, priority, arg, consumed)


_aliases("message", "message", "msg", "log", "MESSAGE", "short_message", "@message")
_aliases(
    "log.level",
    "log.level",
    "level",
    "severity",
    "levelname",
    "lvl",
    "loglevel",
    "log_level",
    "level_name",
    "severity_text",
    "SeverityText",
    arg="auto",
)
_alias("levelno", "log.level", 20, "python")
_alias("severity_number", "log.level", 21, "otel")
_alias("SeverityNumber", "log.level", 22, "otel")
_alias("PRIORITY", "log.level", 23, "syslog")
_alias("syslog_severity", "log.level", 24, "syslog")
_aliases("log.logger", "log.logger", "logger", "logger_name", "loggerName")
_aliases("log.file.path", "log.file.path")  # the file input's source file
_aliases("service.name", "service.name", "service", "service_name", "serviceName")
_aliases(
    "service.environment",
    "service.environment",
    "environment",
    "env",
    "deployment.environment",
    "deployment_environment",
)
_aliases("host.name", "host.name", "host.hostname", "hostname", "host", "HOSTNAME", "_HOSTNAME")
_alias("kubernetes.host", "host.name", 20, None, consumed=False)
_aliases(
    "kubernetes.namespace",
    "kubernetes.namespace_name",
    "kubernetes.namespace",
    "k8s.namespace.name",
)
_aliases("kubernetes.pod.name", "kubernetes.pod_name", "kubernetes.pod.name", "k8s.pod.name")
_aliases(
    "kubernetes.container.name",
    "kubernetes.container_name",
    "kubernetes.container.name",
    "k8s.container.name",
)
_aliases("trace.id", "trace.id", "trace_id", "traceId", "traceid", "otelTraceID", "dd.trace_id")
_aliases("span.id", "span.id", "span_id", "spanId", "spanid", "otelSpanID", "dd.span_id")
_aliases(
    "error.type",
    "error.type",
    "error.kind",
    "exc_type",
    "error_type",
    "exception.type",
    "err.type",
    "err.name",
)
_aliases(
    "error.message",
    "error.message",
    "exc_message",
    "exc_value",
    "error_message",
    "exception.message",
    "err.message",
    "error",
    "err",
)
_aliases(
    "error.stack_trace",
    "error.stack_trace",
    "error.stack",
    "exception.stacktrace",
    "err.stack",
)
# Text that holds a formatted exception: parsed for type and message too.
_aliases(
    "@exc",
    "exc_text",
    "exc_info",
    "stack_trace",
    "stacktrace",
    "stack",
    "traceback",
    "exception",
    "stack_info",
)
_aliases(
    "http.request.method",
    "http.request.method",
    "method",
    "request_method",
    "req.method",
    "http.method",
    "httpMethod",
)
_aliases(
    "http.response.status_code",
    "http.response.status_code",
    "status_code",
    "statusCode",
    "status",
    "res.statusCode",
    "http.status_code",
    "response_status",
)
_aliases("url.path", "url.path", "path", "request_path")
for _index, _key in enumerate(
    ("url.original", "uri", "request_uri", "url", "req.url", "http.url", "http.target")
):
    _alias(_key, "url.path", 10 + _index, "derive", consumed=False)
_aliases(
    "client.ip",
    "client.ip",
    "client_ip",
    "clientIp",
    "remote_addr",
    "remote_ip",
    "remoteAddress",
    "req.remoteAddress",
    "source.ip",
    "x_forwarded_for",
)
for _index, (_key, _unit) in enumerate(
    {
        "event.duration": 1,
        "duration_ns": 1,
        "duration_us": 1_000,
        "duration_ms": 1_000_000,
        "elapsed_ms": 1_000_000,
        "latency_ms": 1_000_000,
        "response_time_ms": 1_000_000,
        "responseTime": 1_000_000,
        "took_ms": 1_000_000,
        "request_time": 1_000_000_000,
        "duration_s": 1_000_000_000,
    }.items()
):
    _alias(_key, "event.duration", _index, _unit)
# The record's own time; used (and consumed) only when the client sent no time.
_aliases("@time", "@timestamp", "timestamp", "time", "ts", "datetime", "date", consumed=False)

#: Dotted prefixes worth descending into when a record field holds an object.
PREFIXES: Final = frozenset(
    key.rsplit(".", depth)[0] for key in ALIASES for depth in range(1, key.count(".") + 1)
)

# prefix -> {child key: (alias of "prefix.child" or None, "prefix.child" if it is itself a
# prefix else None)}: descending into nested objects costs one dict lookup per key.
_CHILDREN: Final[dict[str, dict[str, tuple[Alias | None, str | None]]]] = {}
for _dotted in sorted(set(ALIASES) | PREFIXES):
    if "." in _dotted:
        _parent, _child = _dotted.rsplit(".", 1)
        if _parent in PREFIXES:
            _CHILDREN.setdefault(_parent, {})[_child] = (
                ALIASES.get(_dotted),
                _dotted if _dotted in PREFIXES else None,
            )


def collect(fields: dict[Any, Any], choice: Choice) -> None:
    """Offer every alias candidate found in ``fields`` to ``choice``, in the record's order."""
    for key, value in fields.items():
        if type(value) is dict:
            if key in PREFIXES:
                _descend(value, key, (key,), choice)
            continue
        alias = ALIASES.get(key)
        if alias is not None:
            target, priority, arg, consumed, memo = alias
            if target == _TIME:
                choice.offer(target, priority, value, arg, (key,))
            else:
                choice.offer(target, priority, value, arg, key if consumed else None, memo)


def _descend(mapping: dict[Any, Any], prefix: str, path: tuple[str, ...], choice: Choice) -> None:
    children = _CHILDREN[prefix]
    for key, value in mapping.items():
        entry = children.get(key)
        if entry is None:
            continue
        alias, deeper = entry
        if type(value) is dict:
            if deeper is not None:
                _descend(value, deeper, (*path, key), choice)
            continue
        if alias is not None:
            target, priority, arg, consumed, memo = alias
            here = (*path, key) if consumed or target == _TIME else None
            choice.offer(target, priority, value, arg, here, memo)


def pop_paths(fields: dict[Any, Any], paths: list[tuple[str, ...]]) -> None:
    """Remove nested ``paths`` from ``fields``, copying each nested object once (the
    input record stays intact) and dropping objects left empty."""
    copied: set[int] = set()
    for path in paths:
        if len(path) == 2:  # e.g. ("kubernetes", "pod_name"): no chain to walk back
            head, leaf = path
            child = fields.get(head)
            if type(child) is dict:
                if id(child) not in copied:
                    child = dict(child)
                    fields[head] = child
                    copied.add(id(child))
                child.pop(leaf, None)
                if not child:
                    del fields[head]
            continue
        chain = []
        parent = fields
        for part in path[:-1]:
            child = parent.get(part)
            if type(child) is not dict:
                break
            if id(child) not in copied:
                child = dict(child)
                parent[part] = child
                copied.add(id(child))
            chain.append((parent, part, child))
            parent = child
        else:
            parent.pop(path[-1], None)
            for parent, part, child in chain[::-1]:  # mypyc cannot compile reversed() here
                if not child:
                    del parent[part]
