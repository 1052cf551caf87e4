"""``flatline``: fewer than ``threshold`` events within ``timeframe`` (ElastAlert2).

A key is watched from its first event. On each tick (watermark = now - lateness) the
window ``(watermark - timeframe, watermark]`` is counted once the key has been watched for
a whole timeframe; below ``threshold`` it matches, and, as in ElastAlert2, the watch
restarts so a silence that lasts matches again every timeframe (the notifier's realert
decides what is sent). With ``forget_keys`` the key is dropped after its match instead.
The alert resolves when events bring the window back to ``threshold``.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

from rules.types.base import Match, RuleKind, State, trim_before


class FlatlineRule(RuleKind):
    """Watches each key for silence."""

    windowed = True
    ticks = True

    def on_event(self, st: State, event: Mapping[str, Any], ts: float, key: str) -> list[Match]:
        """Count the event; resolve a firing key once traffic is back to threshold."""
        times: list[float] = st.setdefault("w", [])
        bisect.insort(times, ts)
        trim_before(times, st["hi"] - float(self.rule.timeframe or 0))
        st.setdefault("first", ts)
        if st.get("firing") and len(times) >= (self.rule.threshold or 0):
            del st["firing"]
            if self.rule.resolve:
                return [
                    self.match(st, key, event, len(times), times[0], times[-1], status="resolved")
                ]
        return []

    def on_tick(self, st: State, watermark: float, key: str) -> list[Match]:
        """Match when the key's window, a whole timeframe after it started, is too quiet."""
        timeframe = float(self.rule.timeframe or 0)
        now = max(watermark, st.get("hi", watermark))
        times: list[float] = st.setdefault("w", [])
        trim_before(times, now - timeframe)
        first = st.setdefault("first", now)
        if now - first < timeframe or len(times) >= (self.rule.threshold or 0):
            return []
        count = len(times)
        event = self.placeholder(st, now)
        extra = {"key": key, "count": count}
        found = self.match(st, key, event, count, now - timeframe, now, extra=extra)
        if self.rule.forget_keys:
            st.clear()
        else:
            st["first"] = now
            st["firing"] = True
        return [found]

    def idle(self, st: State, watermark: float) -> bool:
        """Keys are watched forever unless ``forget_keys`` cleared them."""
        return not st
