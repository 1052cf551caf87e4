"""The processor's metrics: one ``prometheus_client`` registry, served on ``/metrics``.

Names follow Prometheus conventions (``bitacora_`` prefix, ``_total`` counters, ``_seconds``
durations). The hot path counts per batch, never per event: a role adds a batch's size to
a labelled child it resolved once (:func:`role_counters`). Consumer lag is computed when
scraped (:class:`LagCollector`), so it costs nothing between scrapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import disable_created_metrics as _disable_created
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# No ``*_created`` series: they double the page for nothing we use.
_disable_created()  # type: ignore[no-untyped-call]  # unannotated in prometheus_client

REGISTRY = CollectorRegistry()

EVENTS_IN = Counter(
    "bitacora_events_in",
    "Events a role read from Kafka (a logs.normalized record counts its events).",
    ["role"],
    registry=REGISTRY,
)
EVENTS_OUT = Counter(
    "bitacora_events_out",
    "Records a role handed on (normalize: normalized events; index: documents stored; "
    "alerting-route: alerts of stateless rules and keyed records).",
    ["role"],
    registry=REGISTRY,
)
DEADLETTERS = Counter(
    "bitacora_deadletters",
    "Records dead-lettered, by role and reason.",
    ["role", "reason"],
    registry=REGISTRY,
)
BULK_SECONDS = Histogram(
    "bitacora_bulk_duration_seconds",
    "Time of one bulk request to OpenSearch (each attempt).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
BULK_RETRIES = Counter(
    "bitacora_bulk_retries",
    "Bulk requests sent again (429/5xx or unreachable).",
    registry=REGISTRY,
)
RULE_MATCHES = Counter(
    "bitacora_rule_matches",
    "Alerts produced, by rule and status.",
    ["rule", "status"],
    registry=REGISTRY,
)
NOTIFICATIONS_SENT = Counter(
    "bitacora_notifications_sent",
    "Notifications delivered, by destination.",
    ["destination"],
    registry=REGISTRY,
)
NOTIFICATIONS_FAILED = Counter(
    "bitacora_notifications_failed",
    "Notification attempts that failed, by destination.",
    ["destination"],
    registry=REGISTRY,
)
ALERTING_STATE = Gauge(
    "bitacora_alerting_state_keys",
    "(rule, query key) states held in the alerting role's table on this worker.",
    registry=REGISTRY,
)
RULES_LOADED = Gauge("bitacora_rules_loaded", "Rules currently active.", registry=REGISTRY)
RULES_RELOADS = Counter(
    "bitacora_rules_reloads",
    "Rule directory reloads, by outcome (applied, refused).",
    ["outcome"],
    registry=REGISTRY,
)
RULES_REFUSED = Gauge(
    "bitacora_rules_file_refused",
    "1 while a rule file is refused (the previous rule set keeps running).",
    ["file"],
    registry=REGISTRY,
)
_OTHER = Counter(
    "bitacora_processor_events",
    "Other processor occurrences, by component, name and reason (skipped input, held "
    "realerts, late events, notify decisions, dropped dead letters).",
    ["component", "name", "reason"],
    registry=REGISTRY,
)


class Counters:
    """``add(component, name, reason)``: the counting interface of the processor's code.

    Dead letters go to ``bitacora_deadletters_total``; anything else to
    ``bitacora_processor_events_total``. Callers on the hot path count a batch at once.
    """

    def add(self, component: str, name: str, reason: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter."""
        if name == "deadletter":
            DEADLETTERS.labels(component, reason).inc(amount)
        else:
            _OTHER.labels(component, name, reason).inc(amount)

    def get(self, component: str, name: str, reason: str) -> float:
        """The counter's current value (0 when never touched)."""
        metric, labels = (
            ("bitacora_deadletters_total", {"role": component, "reason": reason})
            if name == "deadletter"
            else (
                "bitacora_processor_events_total",
                {"component": component, "name": name, "reason": reason},
            )
        )
        return REGISTRY.get_sample_value(metric, labels) or 0.0


COUNTERS = Counters()


@dataclass(frozen=True, slots=True)
class RoleCounters:
    """A role's in/out counters, resolved once (``.inc(n)`` per batch)."""

    events_in: Any
    events_out: Any


def role_counters(role: str) -> RoleCounters:
    """The labelled children of ``role``'s in/out counters."""
    return RoleCounters(EVENTS_IN.labels(role), EVENTS_OUT.labels(role))


# (role, topic, partition, lag) rows of one consumer, computed when scraped.
LagSource = Callable[[], Iterable[tuple[str, str, int, int]]]


class LagCollector(Collector):
    """``bitacora_consumer_lag``: per partition, the records not done yet."""

    def __init__(self) -> None:
        self._sources: dict[int, LagSource] = {}

    def add(self, key: int, source: LagSource) -> None:
        """Report the rows of ``source`` (replacing any under ``key``)."""
        self._sources[key] = source

    def remove(self, key: int) -> None:
        """Stop reporting the source under ``key``."""
        self._sources.pop(key, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The lag gauge, one sample per (role, topic, partition)."""
        family = GaugeMetricFamily(
            "bitacora_consumer_lag",
            "Records of a partition this worker owns not done yet (high watermark - next).",
            labels=["role", "topic", "partition"],
        )
        for source in list(self._sources.values()):
            for role, topic, partition, lag in source():
                family.add_metric([role, topic, str(partition)], lag)
        yield family


LAG = LagCollector()
REGISTRY.register(LAG)
