"""``spike``: the current window against the reference window before it (ElastAlert2).

Counts are kept per whole second of event time (``[second, count]`` pairs), so state
stays bounded at high rates; window edges are therefore exact to the second. With ``T``
the newest second seen (event, or the watermark on a tick), the current window is
``(T - timeframe, T]`` and the reference ``(T - 2·timeframe, T - timeframe]``. A key only
alerts once it has been watched for two timeframes (both windows full) unless
``alert_on_new_data`` is set with a query_key. ``threshold_cur``/``threshold_ref`` are
minimum counts; ``spike_height`` h gives up when cur ≥ ref·h and down when cur ≤ ref/h
(0 against 0 is never a spike). After a match the reference is cleared and the key waits
two timeframes, as ElastAlert2's ``clear_windows``. Ticks let dips fire without events.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bitacora.rules.types.base import Match, RuleKind, State

if TYPE_CHECKING:
    pass


class SpikeRule(RuleKind):
    """Compares counts of two adjacent event-time windows per key."""

    required = ("spike_height", "spike_type", "timeframe")

    windowed = True
    ticks = True
    coarse = True

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Count the event and compare the windows at the newest time."""
        second = float(math.floor(ts))
        buckets: list[list[float]] = st.setdefault("counts", [])
        at = bisect.bisect_left(buckets, [second])
        if at < len(buckets) and buckets[at][0] == second:
            buckets[at][1] += weight
        else:
            buckets.insert(at, [second, weight])
        st.setdefault("since", second)
        self.remember(st, event)
        return self._check(st, float(st["newest"]), key, event)

    def on_tick(self, st: State, watermark: float, key: str) -> list[Match]:
        """Slide the windows to the watermark (a silence is a dip)."""
        now = float(math.floor(watermark))
        if "since" not in st or now <= st.get("newest", now):
            return []
        return self._check(st, now, key, None)

    def _check(
        self, st: State, now: float, key: str, event: Mapping[str, Any] | None
    ) -> list[Match]:
        rule = self.rule
        timeframe = float(rule.timeframe or 0)
        buckets: list[list[float]] = st["counts"]
        old = bisect.bisect_right(buckets, [now - 2 * timeframe, math.inf])
        del buckets[:old]
        if now - st["since"] < 2 * timeframe:
            if not (rule.query_key and rule.alert_on_new_data):
                return []
            if now < st.get("quiet_until", -math.inf):
                return []
        split = bisect.bisect_right(buckets, [now - timeframe, math.inf])
        ref = int(sum(count for _, count in buckets[:split]))
        cur = int(sum(count for _, count in buckets[split:]))
        if cur < (rule.threshold_cur or 0) or ref < (rule.threshold_ref or 0):
            return []
        if cur == 0 and ref == 0:
            return []
        height = float(rule.spike_height or 1)
        wanted_up = rule.spike_type in ("up", "both") and cur >= ref * height
        wanted_down = rule.spike_type in ("down", "both") and cur <= ref / height
        if not (wanted_up or wanted_down):
            return []
        first_ts = buckets[split][0] if cur else now - timeframe
        shown = event or self.placeholder(st, now)
        extra = {"spike_count": cur, "reference_count": ref}
        found = self.match(st, key, shown, cur, first_ts, now, extra=extra)
        del buckets[:split]
        st["since"] = now
        st["quiet_until"] = now + 2 * timeframe
        return [found]

    def idle(self, st: State, watermark: float) -> bool:
        """Forget a key whose windows are both empty."""
        timeframe = float(self.rule.timeframe or 0)
        return bool(watermark - st.get("newest", watermark) > 2 * timeframe + self.lateness)
