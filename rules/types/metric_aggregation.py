"""``metric_aggregation``: min/max/avg/sum/count of ``metric_agg_key`` per time bucket.

ElastAlert2 runs an aggregation query per ``buffer_time``. On the stream the events fall
into tumbling event-time buckets of ``bucket_interval`` (else ``buffer_time``, else
``timeframe``, else 5 minutes) aligned to the epoch. A bucket closes once the watermark
(newest event time of the key - lateness, or now - lateness on a tick) reaches its end;
then, if it holds at least ``min_doc_count`` events, its value is compared: above
``max_threshold`` or below ``min_threshold`` matches, with the value in
``metric_<key>_<type>`` as ElastAlert2 names it. ``count``/``value_count`` count events
holding the field; ``cardinality`` counts distinct values.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from bitacora.fields import lookup
from bitacora.rules.fields import norm
from bitacora.rules.types.base import Match, RuleKind, State

if TYPE_CHECKING:
    from bitacora.rules.model import Rule

# A bucket is a list (plain JSON in the state): these name its slots.
DOCS, COUNTED, TOTAL, LOWEST, HIGHEST, DISTINCT = range(6)


def new_bucket() -> list[Any]:
    """An empty bucket: no documents, no values, sum 0, no min or max, no distinct values."""
    return [0, 0, 0.0, None, None, []]


class MetricAggregationRule(RuleKind):
    """Aggregates a numeric field per key and bucket."""

    required = ("metric_agg_key", "metric_agg_type")

    @classmethod
    def check_options(cls, rule: Rule) -> None:
        """Also a bound: ``max_threshold`` or ``min_threshold``."""
        if rule.max_threshold is None and rule.min_threshold is None:
            raise ValueError("metric_aggregation needs max_threshold or min_threshold")

    windowed = True
    ticks = True

    def __init__(self, rule: Rule, lateness: float) -> None:
        super().__init__(rule, lateness)
        self.size = float(rule.bucket_interval or rule.buffer_time or rule.timeframe or 300.0)
        self.field = str(rule.metric_agg_key)
        self.kind = str(rule.metric_agg_type)
        self.metric_key = f"metric_{self.field}_{self.kind}"

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Add the event to its bucket, then close the buckets the watermark passed."""
        self.add(st, event, ts)
        self.remember(st, event)
        return self._close(st, st["newest"] - self.lateness, key)

    def add(self, st: State, event: Mapping[str, Any], ts: float) -> None:
        """Count ``event`` in its bucket (shared with ``spike_aggregation``)."""
        start = math.floor(ts / self.size) * self.size
        buckets: dict[str, list[Any]] = st.setdefault("buckets", {})
        bucket = buckets.get(repr(start))
        if bucket is None:
            bucket = buckets[repr(start)] = new_bucket()
        bucket[DOCS] += 1
        value = lookup(event, self.field)
        if value is not None:
            bucket[COUNTED] += 1
            if self.kind == "cardinality":
                term = norm(value)
                if term not in bucket[DISTINCT]:
                    bucket[DISTINCT].append(term)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                bucket[TOTAL] += value
                low, high = bucket[LOWEST], bucket[HIGHEST]
                bucket[LOWEST] = value if low is None else min(low, value)
                bucket[HIGHEST] = value if high is None else max(high, value)

    def on_tick(self, st: State, watermark: float, key: str) -> list[Match]:
        """Close buckets by wall-clock watermark."""
        return self._close(st, watermark, key)

    def _value(self, bucket: list[Any]) -> float | None:
        if self.kind in ("count", "value_count"):
            return float(bucket[COUNTED])
        if self.kind == "cardinality":
            return float(len(bucket[DISTINCT]))
        if bucket[LOWEST] is None:
            return None
        if self.kind == "sum":
            return float(bucket[TOTAL])
        if self.kind == "avg":
            numeric = bucket[COUNTED] if bucket[COUNTED] else 1
            return float(bucket[TOTAL]) / numeric
        return float(bucket[LOWEST] if self.kind == "min" else bucket[HIGHEST])

    def closed(self, st: State, watermark: float) -> Iterator[tuple[float, int, float | None]]:
        """Remove the buckets ending at or before ``watermark``: (start, documents, value)."""
        buckets: dict[str, list[Any]] = st.get("buckets", {})
        for name in sorted((n for n in buckets if float(n) + self.size <= watermark), key=float):
            bucket = buckets.pop(name)
            yield float(name), int(bucket[DOCS]), self._value(bucket)

    def _close(self, st: State, watermark: float, key: str) -> list[Match]:
        out: list[Match] = []
        for start, docs, value in self.closed(st, watermark):
            if docs < self.rule.min_doc_count or value is None:
                continue
            high = self.rule.max_threshold is not None and value > self.rule.max_threshold
            low = self.rule.min_threshold is not None and value < self.rule.min_threshold
            if high or low:
                event = (
                    dict(st.get("samples", [{}])[-1])
                    if st.get("samples")
                    else self.placeholder(st, start + self.size)
                )
                event[self.metric_key] = value
                out.append(
                    self.match(
                        st,
                        key,
                        event,
                        docs,
                        start,
                        start + self.size,
                        extra={self.metric_key: value},
                    )
                )
        if not st.get("buckets"):
            st.pop("samples", None)
        return out

    def idle(self, st: State, watermark: float) -> bool:
        """A key without open buckets carries nothing."""
        return not st.get("buckets")
