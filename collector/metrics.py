"""A tiny Prometheus text-format registry (counters, gauges, one histogram kind).

Enough for ``GET /metrics`` without a dependency. Label values from clients (tags) are
capped so a sender inventing tags cannot grow memory without bound.
"""

from __future__ import annotations

import bisect
from typing import Final

MAX_SERIES: Final = 2000  # per metric; further label sets are folded into "other"
_OTHER: Final = "other"


def _escape(value: str) -> str:
    # Tags may hold invalid UTF-8 (lone surrogates): show it escaped, never fail the page.
    value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labelnames = labelnames

    def _series_key(
        self, values: tuple[str, ...], store: dict[tuple[str, ...], object]
    ) -> tuple[str, ...]:
        if values in store or len(store) < MAX_SERIES:
            return values
        return tuple(_OTHER for _ in values)

    def render(self) -> list[str]:
        """The metric's lines in the Prometheus text format."""
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    """A monotonically increasing count per label set."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, *labels: str, amount: float = 1) -> None:
        """Add ``amount`` to the series of ``labels``."""
        key = self._series_key(labels, self.values)  # type: ignore[arg-type]
        self.values[key] = self.values.get(key, 0) + amount

    def get(self, *labels: str) -> float:
        """The current value (0 when never incremented)."""
        return self.values.get(labels, 0)

    def render(self) -> list[str]:
        """See _Metric.render."""
        lines = super().render()
        for values, count in sorted(self.values.items()):
            lines.append(f"{self.name}{_labels(self.labelnames, values)} {count:g}")
        return lines


class Gauge(Counter):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float, *labels: str) -> None:
        """Set the series of ``labels`` to ``value``."""
        self.values[labels] = value


class Histogram(_Metric):
    """Cumulative buckets, sum and count (no labels)."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]) -> None:
        super().__init__(name, help_text)
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Record one observation."""
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def render(self) -> list[str]:
        """See _Metric.render."""
        lines = super().render()
        running = 0
        for bound, count in zip(self.buckets, self.counts, strict=False):
            running += count
            lines.append(f'{self.name}_bucket{{le="{bound:g}"}} {running}')
        lines.append(f'{self.name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{self.name}_sum {self.sum:.6f}")
        lines.append(f"{self.name}_count {self.count}")
        return lines


class CollectorMetrics:
    """Every metric the collector exports (names are part of the ops contract)."""

    def __init__(self) -> None:
        p = "bitacora_collector_"
        self.events = Counter(p + "events_total", "Log events accepted.", ("source", "tag"))
        self.bytes = Counter(p + "bytes_total", "Request bytes received.", ("source", "tag"))
        self.requests = Counter(p + "requests_total", "Requests received.", ("source",))
        self.acks = Counter(
            p + "acks_total", "Requests acknowledged after Kafka held them.", ("source",)
        )
        self.rejections = Counter(
            p + "rejections_total", "Events, requests or connections refused.", ("source", "reason")
        )
        self.deadletters = Counter(
            p + "deadletters_total", "Events written to the dead letter.", ("source",)
        )
        self.non_logs = Counter(
            p + "non_log_requests_total",
            "fluent_signal requests (1 metrics, 2 traces).",
            ("signal",),
        )
        self.connections = Gauge(p + "open_connections", "Open forward connections.")
        self.connections_total = Counter(p + "connections_total", "Forward connections accepted.")
        self.inflight = Gauge(p + "inflight_bytes", "Bytes of requests waiting for Kafka.")
        self.publish_failures = Counter(
            p + "publish_failures_total", "Requests Kafka did not take.", ("source",)
        )
        self.produce_latency = Histogram(
            p + "produce_latency_seconds",
            "Time from handing a request to Kafka until every event is acknowledged.",
            (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
        )

    def all(self) -> list[_Metric]:
        """Every metric, in exposition order."""
        return [value for value in vars(self).values() if isinstance(value, _Metric)]

    def render(self) -> str:
        """The Prometheus text exposition of every metric."""
        lines: list[str] = []
        for metric in self.all():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"
