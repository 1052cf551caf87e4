"""``percentage_match``: the share of events matching ``match_bucket_filter`` per bucket.

ElastAlert2 queries each ``buffer_time`` with a ``filters`` aggregation (the match bucket
and the other bucket). On the stream, the rule's events fall into tumbling event-time
buckets of ``bucket_interval`` (else ``buffer_time``) aligned to the epoch; a bucket is
judged once the watermark passes its end: with ``denominator`` events (at least
``min_denominator``, never 0), ``percentage = matching / denominator · 100`` matches when
below ``min_percentage`` or above ``max_percentage``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bitacora.rules.filters import compile_filters
from bitacora.rules.types.base import Match, RuleKind, State

if TYPE_CHECKING:
    from bitacora.rules.model import Rule


class PercentageMatchRule(RuleKind):
    """Counts all and matching events per key and bucket."""

    required = ("match_bucket_filter", "buffer_time")
    windowed = True
    ticks = True

    @classmethod
    def check_options(cls, rule: Rule) -> None:
        """Also a bound: ``min_percentage`` or ``max_percentage``."""
        if rule.min_percentage is None and rule.max_percentage is None:
            raise ValueError("percentage_match needs min_percentage or max_percentage")

    def __init__(self, rule: Rule, lateness: float) -> None:
        super().__init__(rule, lateness)
        self.size = float(rule.bucket_interval or rule.buffer_time or 300.0)
        self.in_bucket = compile_filters(rule.match_bucket_filter or []).match

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Count the event in its bucket, then judge the buckets the watermark passed."""
        start = math.floor(ts / self.size) * self.size
        buckets: dict[str, list[Any]] = st.setdefault("buckets", {})
        bucket = buckets.setdefault(repr(float(start)), [0, 0])  # [all, matching]
        bucket[0] += weight
        if self.in_bucket(event):
            bucket[1] += weight
        self.remember(st, event)
        return self._close(st, st["newest"] - self.lateness, key)

    def on_tick(self, st: State, watermark: float, key: str) -> list[Match]:
        """Judge buckets by wall-clock watermark."""
        return self._close(st, watermark, key)

    def _close(self, st: State, watermark: float, key: str) -> list[Match]:
        rule = self.rule
        buckets: dict[str, list[Any]] = st.get("buckets", {})
        out: list[Match] = []
        for name in sorted((n for n in buckets if float(n) + self.size <= watermark), key=float):
            total, matching = buckets.pop(name)
            if total == 0 or total < rule.min_denominator:
                continue
            percentage = matching * 100.0 / total
            low = rule.min_percentage is not None and percentage < rule.min_percentage
            high = rule.max_percentage is not None and percentage > rule.max_percentage
            if low or high:
                start = float(name)
                extra = {"percentage": percentage, "denominator": total}
                event = (
                    dict(st["samples"][-1]) if st.get("samples") else self.placeholder(st, start)
                )
                event.update(extra)
                out.append(self.match(st, key, event, total, start, start + self.size, extra=extra))
        if not buckets:
            st.pop("samples", None)
        return out

    def idle(self, st: State, watermark: float) -> bool:
        """A key without open buckets carries nothing."""
        return not st.get("buckets")
