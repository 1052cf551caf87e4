"""``spike_aggregation``: a spike of a metric (avg/min/max/sum/…) instead of a count.

ElastAlert2 computes ``metric_agg_type`` of ``metric_agg_key`` once per query period
(``buffer_time``) and feeds each value to its spike windows. On the stream each key's
events fall into tumbling event-time buckets of ``buffer_time`` (else 5 minutes) aligned to
the epoch; when the watermark passes a bucket's end its value (if the bucket holds at
least ``min_doc_count`` events) becomes one sample at the bucket's end. The current
window ``(T - timeframe, T]`` and the reference window before it are reduced as
ElastAlert2 does: the mean of the samples for ``avg``, their min for ``min``, their max for
``max`` and their sum otherwise; then ``spike``'s rules apply (``threshold_cur``/
``threshold_ref``, ``spike_height``, two timeframes of watching first, the reference cleared
after a match). The values are in ``spike_count``/``reference_count``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bitacora.rules.types.base import Match, RuleKind, State
from bitacora.rules.types.metric_aggregation import MetricAggregationRule

if TYPE_CHECKING:
    from bitacora.rules.model import Rule


def _reduce(kind: str, values: list[float]) -> float | None:
    if not values:
        return None if kind in ("avg", "min", "max") else 0.0
    if kind == "avg":
        return sum(values) / len(values)
    if kind == "min":
        return min(values)
    if kind == "max":
        return max(values)
    return sum(values)


class SpikeAggregationRule(RuleKind):
    """Metric values per bucket, compared window against window."""

    required = ("metric_agg_key", "metric_agg_type", "spike_height", "spike_type", "timeframe")
    windowed = True
    ticks = True

    @classmethod
    def check_options(cls, rule: Rule) -> None:
        """No ``bucket_interval``: ElastAlert2 refuses it for this type too."""
        if rule.bucket_interval is not None:
            raise ValueError("spike_aggregation takes no bucket_interval (as in ElastAlert2)")

    def __init__(self, rule: Rule, lateness: float) -> None:
        super().__init__(rule, lateness)
        self.metric = MetricAggregationRule(
            rule.model_copy(update={"bucket_interval": rule.buffer_time or 300.0}), lateness
        )
        self.timeframe = float(rule.timeframe or 0)

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Add the event to its bucket; closed buckets become samples."""
        self.metric.add(st, event, ts)
        self.remember(st, event)
        return self._samples(st, st["newest"] - self.lateness, key)

    def on_tick(self, st: State, watermark: float, key: str) -> list[Match]:
        """Close buckets by wall-clock watermark."""
        return self._samples(st, watermark, key)

    def _samples(self, st: State, watermark: float, key: str) -> list[Match]:
        out: list[Match] = []
        for start, docs, value in self.metric.closed(st, watermark):
            if docs < self.rule.min_doc_count or value is None:
                continue
            end = start + self.metric.size
            samples: list[list[float]] = st.setdefault("metric_samples", [])
            samples.append([end, value])
            st.setdefault("since", end)
            st.setdefault("quiet_until", 0.0)
            found = self._check(st, end, key)
            if found is not None:
                out.append(found)
        return out

    def _check(self, st: State, now: float, key: str) -> Match | None:
        rule, timeframe = self.rule, self.timeframe
        samples: list[list[float]] = [s for s in st["metric_samples"] if s[0] > now - 2 * timeframe]
        st["metric_samples"] = samples
        early = now - st["since"] < 2 * timeframe
        if early and (not (rule.query_key and rule.alert_on_new_data) or now < st["quiet_until"]):
            return None
        kind = str(rule.metric_agg_type)
        ref = _reduce(kind, [v for t, v in samples if t <= now - timeframe])
        cur = _reduce(kind, [v for t, v in samples if t > now - timeframe])
        if ref is None or cur is None:
            return None
        if cur < (rule.threshold_cur or 0) or ref < (rule.threshold_ref or 0):
            return None
        height = float(rule.spike_height or 1)
        up = rule.spike_type in ("up", "both") and cur >= ref * height
        down = rule.spike_type in ("down", "both") and cur <= ref / height
        if not (up or down) or (cur == 0 and ref == 0):
            return None
        extra = {"spike_count": cur, "reference_count": ref}
        event = dict(st["samples"][-1]) if st.get("samples") else self.placeholder(st, now)
        event.update(extra)
        current = [t for t, _ in samples if t > now - timeframe]
        # The window's first sample, as ElastAlert2 reports the current window's first one.
        found = self.match(st, key, event, len(current), current[0], now, extra=extra)
        st["metric_samples"] = [s for s in samples if s[0] > now - timeframe]
        st["since"] = now
        st["quiet_until"] = now + 2 * timeframe
        return found

    def idle(self, st: State, watermark: float) -> bool:
        """Forget a key with no open bucket and no sample in the last two timeframes."""
        samples = st.get("metric_samples") or []
        return not st.get("buckets") and (
            not samples or watermark - samples[-1][0] > 2 * self.timeframe
        )
