"""The collector's metrics on ``prometheus_client``, one registry per :class:`Collector`.

Sources count with ``metrics.events.inc(source, tag, amount=n)`` (once per request, never
per event), ``metrics.connections.set(n)`` and ``metrics.produce_latency.observe(s)``;
``get`` reads a value back (tests, status). Label values from clients (tags) are capped
so a sender inventing tags cannot grow memory without bound.
"""

from __future__ import annotations

from typing import Any, Final

import prometheus_client
from prometheus_client import CollectorRegistry, generate_latest

MAX_SERIES: Final = 2000  # per metric; further label sets are folded into "other"
_OTHER: Final = "other"

prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated


def _clean(value: str) -> str:
    # Tags may hold invalid UTF-8 (lone surrogates): keep them visible, escaped.
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


class _Labelled:
    """A metric whose children are resolved once per label set (a dict hit afterwards)."""

    def __init__(self, metric: Any, labelnames: tuple[str, ...]) -> None:
        self._metric = metric
        self.labelnames = labelnames
        self._children: dict[tuple[str, ...], Any] = {}

    def _child(self, labels: tuple[str, ...]) -> Any:
        child = self._children.get(labels)
        if child is None:
            if len(self._children) >= MAX_SERIES:
                labels = (_OTHER,) * len(labels)
                child = self._children.get(labels)
            if child is None:
                metric = self._metric
                child = metric.labels(*map(_clean, labels)) if self.labelnames else metric
                self._children[labels] = child
        return child

    def series(self) -> int:
        """How many label sets this metric holds."""
        return len(self._children)

    def get(self, *labels: str) -> float:
        """The current value (0 when never touched)."""
        child = self._children.get(labels)
        if child is None:
            return 0.0
        value: float = child._value.get()  # prometheus_client has no public reader
        return value


class Counter(_Labelled):
    """A monotonically increasing count per label set."""

    def __init__(
        self, registry: CollectorRegistry, name: str, help_text: str, labels: tuple[str, ...] = ()
    ) -> None:
        base = name.removesuffix("_total")
        super().__init__(
            prometheus_client.Counter(base, help_text, labels, registry=registry), labels
        )

    def inc(self, *labels: str, amount: float = 1) -> None:
        """Add ``amount`` to the series of ``labels``."""
        self._child(labels).inc(amount)


class Gauge(_Labelled):
    """A value that goes up and down."""

    def __init__(
        self, registry: CollectorRegistry, name: str, help_text: str, labels: tuple[str, ...] = ()
    ) -> None:
        gauge = prometheus_client.Gauge(name, help_text, labels, registry=registry)
        super().__init__(gauge, labels)

    def set(self, value: float, *labels: str) -> None:
        """Set the series of ``labels`` to ``value``."""
        self._child(labels).set(value)


class CollectorMetrics:
    """Every metric the collector exports (names are part of the ops contract)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        p = "bitacora_collector_"
        self.events = Counter(r, p + "events_total", "Log events accepted.", ("source", "tag"))
        self.bytes = Counter(r, p + "bytes_total", "Request bytes received.", ("source", "tag"))
        self.requests = Counter(r, p + "requests_total", "Requests received.", ("source",))
        self.acks = Counter(
            r, p + "acks_total", "Requests acknowledged after Kafka held them.", ("source",)
        )
        self.rejections = Counter(
            r,
            p + "rejections_total",
            "Events, requests or connections refused.",
            ("source", "reason"),
        )
        self.deadletters = Counter(
            r, p + "deadletters_total", "Events written to the dead letter.", ("source",)
        )
        self.non_logs = Counter(
            r,
            p + "non_log_requests_total",
            "fluent_signal requests (1 metrics, 2 traces).",
            ("signal",),
        )
        self.connections = Gauge(r, p + "open_connections", "Open forward connections.")
        self.connections_total = Counter(
            r, p + "connections_total", "Forward connections accepted."
        )
        self.inflight = Gauge(r, p + "inflight_bytes", "Bytes of requests waiting for Kafka.")
        self.publish_failures = Counter(
            r, p + "publish_failures_total", "Requests Kafka did not take.", ("source",)
        )
        self.produce_latency = prometheus_client.Histogram(
            p + "produce_latency_seconds",
            "Time from handing a request to Kafka until every event is acknowledged.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )

    def render(self) -> str:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry).decode()
