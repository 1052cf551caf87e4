"""``cardinality``: distinct ``cardinality_field`` values within ``timeframe`` (ElastAlert2).

Each value remembers its latest time; a value older than ``timeframe`` (strictly) than the
current time is forgotten. Matches when the count exceeds ``max_cardinality``, or falls
below ``min_cardinality`` once the key has been watched for more than a timeframe (then the
watch restarts, as ElastAlert2 pops ``first_event``). Ticks check ``min_cardinality``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bitacora.fields import lookup
from bitacora.rules.fields import norm
from bitacora.rules.types.base import Match, RuleKind, State

if TYPE_CHECKING:
    from bitacora.rules.model import Rule


class CardinalityRule(RuleKind):
    """Distinct values per key in a sliding window."""

    required = ("cardinality_field", "timeframe")

    @classmethod
    def check_options(cls, rule: Rule) -> None:
        """Also a bound: ``max_cardinality`` or ``min_cardinality``."""
        if rule.max_cardinality is None and rule.min_cardinality is None:
            raise ValueError("cardinality needs max_cardinality or min_cardinality")

    windowed = True
    ticks = True

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Record the value and check the bounds."""
        values: dict[str, float] = st.setdefault("seen", {})
        st.setdefault("since", ts)
        value = lookup(event, str(self.rule.cardinality_field))
        if value is None:
            return []
        term = norm(value)
        values[term] = max(ts, values.get(term, ts))
        self.remember(st, event)
        return self._check(st, st["newest"], key, event)

    def on_tick(self, st: State, watermark: float, key: str) -> list[Match]:
        """Forget old values; a too-low cardinality may match without events."""
        if self.rule.min_cardinality is None or "seen" not in st:
            return []
        return self._check(st, max(watermark, st.get("newest", watermark)), key, None)

    def _check(
        self, st: State, now: float, key: str, event: Mapping[str, Any] | None
    ) -> list[Match]:
        timeframe = float(self.rule.timeframe or 0)
        values: dict[str, float] = st["seen"]
        for term in [t for t, last in values.items() if now - last > timeframe]:
            del values[term]
        first = st.setdefault("since", now)
        count = len(values)
        too_many = self.rule.max_cardinality is not None and count > self.rule.max_cardinality
        too_few = (
            self.rule.min_cardinality is not None
            and count < self.rule.min_cardinality
            and now - first > timeframe
        )
        if not (too_many or too_few):
            return []
        del st["since"]
        shown = event or self.placeholder(st, now)
        return [
            self.match(st, key, shown, count, now - timeframe, now, extra={"cardinality": count})
        ]

    def idle(self, st: State, watermark: float) -> bool:
        """Max-only keys go once every value is older than the timeframe."""
        timeframe = float(self.rule.timeframe or 0)
        if self.rule.min_cardinality is not None:
            return False
        return bool(watermark - st.get("newest", watermark) > timeframe + self.lateness)
