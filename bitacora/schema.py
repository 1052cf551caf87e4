"""Names other parts rely on: topics, indices, event fields, levels (ARCHITECTURE.md).

One place per concept: every component imports these constants instead of spelling them.
"""

from __future__ import annotations

from typing import Final

# Kafka topics (defaults; the Settings model can rename them).
TOPIC_RAW: Final = "logs.raw"
TOPIC_NORMALIZED: Final = "logs.normalized"
TOPIC_DEADLETTER: Final = "logs.deadletter"
TOPIC_ALERTS: Final = "alerts"

# OpenSearch data streams / index patterns.
LOGS_PATTERN: Final = "logs-*"
LOGS_STREAM_PREFIX: Final = "logs-"
ALERTS_PATTERN: Final = "bitacora-alerts*"
ALERTS_STREAM: Final = "bitacora-alerts"
DEADLETTER_PATTERN: Final = "bitacora-deadletter*"
DEADLETTER_STREAM: Final = "bitacora-deadletter"

# The fields of a normalized event (the logs index template maps exactly these); anything
# else a source sends is kept under ``labels``.
EVENT_FIELDS: Final = frozenset(
    {
        "@timestamp",
        "client.ip",
        "error.message",
        "error.stack_trace",
        "error.type",
        "event.dataset",
        "event.duration",
        "event.id",
        "event.ingested",
        "event.severity",
        "host.name",
        "http.request.method",
        "http.response.status_code",
        "kubernetes.container.name",
        "kubernetes.namespace",
        "kubernetes.pod.name",
        "labels",
        "log.file.path",
        "log.level",
        "log.logger",
        "log.syslog.facility",
        "log.syslog.severity",
        "message",
        "service.environment",
        "service.name",
        "span.id",
        "trace.id",
        "url.path",
    }
)

# Canonical levels and their OpenTelemetry severity numbers.
LEVELS: Final = ("trace", "debug", "info", "warn", "error", "fatal")
SEVERITY: Final[dict[str, int]] = {
    "trace": 1,
    "debug": 5,
    "info": 9,
    "warn": 13,
    "error": 17,
    "fatal": 21,
}


def logs_stream_for(service: str) -> str:
    """The data stream that events of ``service`` are written to: ``logs-<service>``.

    One stream per service keeps retention and shard sizes per service manageable while
    ``logs-*`` still searches everything. Characters OpenSearch forbids become ``-``.
    """
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in service.lower()).strip("-_")
    return LOGS_STREAM_PREFIX + (safe or "unknown")


# Processor stages; each is its own Kafka consumer group (alerting: two, see below).
PROCESSOR_ROLES: Final = ("normalize", "index", "alerting")
# The alerting role's first stage reads logs.normalized in its own group; the role's faust
# app (group ``<app id>-alerting``) reads only its internal topics.
ALERTING_ROUTE: Final = "alerting-route"


def consumer_group(app_id: str, role: str) -> str:
    """The consumer group (and faust app id) of a processor role."""
    return f"{app_id}-{role}"


def input_group(app_id: str, role: str) -> str:
    """The consumer group reading ``role``'s input topic (its lag is the role's backlog)."""
    return consumer_group(app_id, ALERTING_ROUTE if role == "alerting" else role)
