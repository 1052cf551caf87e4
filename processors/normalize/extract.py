"""Which record fields feed which event-table field (the checks: processors.normalize.checks).

``ALIASES`` maps a record key (or a dotted path into nested ECS-style objects such as
``{"service": {"name": ...}}`` or pino's ``{"req": {"method": ...}}``) to
``(target, priority, argument, consumed)``. Lower priority wins; a value that fails its
target's check stays in ``labels`` and the next candidate is tried. ``consumed`` False
keeps the original in ``labels`` too (e.g. a full ``url`` only *gives* ``url.path``).
The ``argument`` is the level scale for level fields and the unit (in ns) for durations.
"""

from __future__ import annotations

from typing import Any, Final

Alias = tuple[str, int, Any, bool]
Candidate = tuple[int, tuple[str, ...] | None, Any, Any, bool]
#: target -> its only candidate, or the list of them once there are two or more (most
#: targets have one: no list is built for them).
Candidates = dict[str, Candidate | list[Candidate]]


def add_candidate(out: Candidates, target: str, candidate: Candidate) -> None:
    """Record ``candidate`` for ``target`` (see :data:`Candidates`)."""
    found = out.get(target)
    if found is None:
        out[target] = candidate
    elif isinstance(found, tuple):
        out[target] = [found, candidate]
    else:
        found.append(candidate)


def candidate_list(found: Candidate | list[Candidate]) -> list[Candidate]:
    """The candidates of one target as a list."""
    return [found] if isinstance(found, tuple) else found


ALIASES: Final[dict[str, Alias]] = {}


def _aliases(target: str, *keys: str, arg: Any = None, consumed: bool = True) -> None:
    for priority, key in enumerate(keys):
        ALIASES[key] = (target, priority, arg, consumed)


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
ALIASES["levelno"] = ("log.level", 20, "python", True)
ALIASES["severity_number"] = ("log.level", 21, "otel", True)
ALIASES["SeverityNumber"] = ("log.level", 22, "otel", True)
ALIASES["PRIORITY"] = ("log.level", 23, "syslog", True)
ALIASES["syslog_severity"] = ("log.level", 24, "syslog", True)
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
ALIASES["kubernetes.host"] = ("host.name", 20, None, False)
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
ALIASES.update(
    {
        key: ("url.path", 10 + index, "derive", False)
        for index, key in enumerate(
            ("url.original", "uri", "request_uri", "url", "req.url", "http.url", "http.target")
        )
    }
)
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
    ALIASES[_key] = ("event.duration", _index, _unit, True)
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


def collect(fields: dict[Any, Any], out: Candidates) -> None:
    """Add every alias candidate found in ``fields`` to ``out`` (see :data:`Candidates`)."""
    for key, value in fields.items():
        if type(value) is dict:
            if key in PREFIXES:
                _descend(value, key, (key,), out)
            continue
        alias = ALIASES.get(key)
        if alias is not None:
            target, priority, arg, consumed = alias
            candidate = (priority, (key,), value, arg, consumed)
            found = out.get(target)
            if found is None:
                out[target] = candidate
            else:
                add_candidate(out, target, candidate)


def _descend(mapping: dict[Any, Any], prefix: str, path: tuple[str, ...], out: Candidates) -> None:
    children = _CHILDREN[prefix]
    for key, value in mapping.items():
        entry = children.get(key)
        if entry is None:
            continue
        alias, deeper = entry
        if type(value) is dict:
            if deeper is not None:
                _descend(value, deeper, (*path, key), out)
            continue
        if alias is not None:
            target, priority, arg, consumed = alias
            add_candidate(out, target, (priority, (*path, key), value, arg, consumed))


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
