"""``flatline``: fewer than ``threshold`` events within ``timeframe`` (ElastAlert2).

A key is watched from its first event. On each tick (watermark = now - lateness) the
window ``(watermark - timeframe, watermark]`` is counted once the key has been watched for
a whole timeframe; below ``threshold`` it matches and, as in ElastAlert2, the watch
restarts, so a silence that lasts matches again every timeframe (the notifier's realert
decides what is sent). With ``forget_keys`` the key is dropped after its match instead.
The alert resolves when events bring the window back to ``threshold``.

Flatline rules usually see every event of a service, so the state is kept small and
stable: only the newest ``threshold`` event times, in whole seconds. The state then
changes at most once per second per key, which keeps table writes rare.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bitacora.rules.types.base import Match, RuleKind, State, clear_state, trim_before

if TYPE_CHECKING:
    pass


class FlatlineRule(RuleKind):
    """Watches each key for silence."""

    required = ("threshold", "timeframe")

    windowed = True
    ticks = True
    coarse = True

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Count the event; resolve a firing key once traffic is back to threshold."""
        threshold = max(self.rule.threshold or 0, 1)
        second = float(math.floor(ts))
        times: list[float] = st.setdefault("seconds", [])
        if len(times) >= threshold and times[0] == second and not st.get("firing"):
            return []  # the newest `threshold` events are all in this second: nothing changes
        for _ in range(min(weight, threshold)):
            if len(times) >= threshold and second <= times[0]:
                break
            bisect.insort(times, second)
            if len(times) > threshold:
                del times[0]
        trim_before(times, st["newest"] - float(self.rule.timeframe or 0))
        st.setdefault("since", second)
        if st.get("firing") and len(times) >= (self.rule.threshold or 0):
            del st["firing"]
            if self.rule.resolve:
                count = len(times)
                return [self.match(st, key, event, count, times[0], times[-1], status="resolved")]
        return []

    def on_tick(self, st: State, watermark: float, key: str) -> list[Match]:
        """Match when the key's window, a whole timeframe after it started, is too quiet."""
        timeframe = float(self.rule.timeframe or 0)
        now = max(float(math.floor(watermark)), st.get("newest", -math.inf))
        times: list[float] = st.setdefault("seconds", [])
        trim_before(times, now - timeframe)
        first = st.setdefault("since", now)
        if now - first < timeframe or len(times) >= (self.rule.threshold or 0):
            return []
        count = len(times)
        event = self.placeholder(st, now)
        extra = {"key": key, "count": count}
        found = self.match(st, key, event, count, now - timeframe, now, extra=extra)
        if self.rule.forget_keys:
            clear_state(st)
        else:
            st["since"] = now
            st["firing"] = True
        return [found]

    def idle(self, st: State, watermark: float) -> bool:
        """Keys are watched forever unless ``forget_keys`` cleared them."""
        return not st
