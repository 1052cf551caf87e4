"""``spike``: the current window against the reference window before it (ElastAlert2).

With ``T`` the newest time seen (event, or the watermark on a tick), the current window is
``(T - timeframe, T]`` and the reference ``(T - 2·timeframe, T - timeframe]``. A key only
alerts once it has been watched for two timeframes (both windows full) unless
``alert_on_new_data`` is set with a query_key. Thresholds: ``threshold_cur`` and
``threshold_ref`` are minimum counts; ``spike_height`` h gives up when cur ≥ ref·h and down
when cur ≤ ref/h. After a match the reference is cleared and the key waits two timeframes,
as ElastAlert2's ``clear_windows``. Ticks let dips (``down``) fire without events.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

from rules.types.base import Match, RuleKind, State, trim_before


class SpikeRule(RuleKind):
    """Compares counts of two adjacent event-time windows per key."""

    windowed = True
    ticks = True

    def on_event(self, st: State, event: Mapping[str, Any], ts: float, key: str) -> list[Match]:
        """Count the event and compare the windows at the newest time."""
        times: list[float] = st.setdefault("w", [])
        bisect.insort(times, ts)
        st.setdefault("first", ts)
        self.remember(st, event)
        return self._check(st, st["hi"], key, event)

    def on_tick(self, st: State, watermark: float, key: str) -> list[Match]:
        """Slide the windows to the watermark (a silence is a dip)."""
        if "first" not in st or watermark <= st.get("hi", watermark):
            return []
        return self._check(st, watermark, key, None)

    def _check(
        self, st: State, now: float, key: str, event: Mapping[str, Any] | None
    ) -> list[Match]:
        rule = self.rule
        timeframe = float(rule.timeframe or 0)
        times: list[float] = st["w"]
        trim_before(times, now - 2 * timeframe)
        split = bisect.bisect_right(times, now - timeframe)
        ref, cur = split, len(times) - split
        if now - st["first"] < 2 * timeframe:
            if not (rule.query_key and rule.alert_on_new_data):
                return []
            if now < st.get("skip", float("-inf")):
                return []
        if cur < (rule.threshold_cur or 0) or ref < (rule.threshold_ref or 0):
            return []
        if cur == 0 and ref == 0:
            return []
        height = float(rule.spike_height or 1)
        up = cur >= ref * height
        down = cur <= ref / height
        if not (
            (rule.spike_type in ("up", "both") and up)
            or (rule.spike_type in ("down", "both") and down)
        ):
            return []
        first_ts = times[split] if cur else now - timeframe
        found = self.match(
            st,
            key,
            event or self.placeholder(st, now),
            cur,
            first_ts,
            now,
            extra={"spike_count": cur, "reference_count": ref},
        )
        del times[:split]
        st["first"] = now
        st["skip"] = now + 2 * timeframe
        return [found]

    def idle(self, st: State, watermark: float) -> bool:
        """Forget a key whose windows are both empty."""
        timeframe = float(self.rule.timeframe or 0)
        return bool(watermark - st.get("hi", watermark) > 2 * timeframe + self.lateness)
