"""``change``: ``compare_key`` of a query_key changed from its previous value (ElastAlert2).

Follows ElastAlert2's ``ChangeRule.compare``: the first value of a key is only recorded;
with ``ignore_null`` an event whose compared value is empty (null, "", 0 but not false)
is skipped without updating; with ``timeframe`` a change only matches when the previous
value was seen at most ``timeframe`` before. The match carries ``old_value``/``new_value``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bitacora.fields import lookup
from bitacora.rules.types.base import Match, RuleKind, State

if TYPE_CHECKING:
    pass


class ChangeRule(RuleKind):
    """Remembers the last compared values per key."""

    required = ("compare_key", "query_key")

    windowed = True

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Compare with the key's previous values, then remember the new ones."""
        values = [lookup(event, field) for field in self.rule.compare_fields]
        if self.rule.ignore_null and any(not isinstance(v, bool) and not v for v in values):
            return []
        out: list[Match] = []
        previous = st.get("values")
        if previous is not None and previous != values:
            changed = True
            if self.rule.timeframe is not None and "changed_at" in st:
                changed = ts - st["changed_at"] <= self.rule.timeframe
            if changed:
                old = previous[0] if len(previous) == 1 else previous
                new = values[0] if len(values) == 1 else values
                out.append(
                    self.match(
                        st,
                        key,
                        event,
                        1,
                        st.get("changed_at", ts),
                        ts,
                        extra={"old_value": old, "new_value": new},
                    )
                )
        st["values"] = values
        st["changed_at"] = ts
        return out

    def idle(self, st: State, watermark: float) -> bool:
        """Values are remembered for ``timeframe`` when set, else for a week."""
        horizon = self.rule.timeframe if self.rule.timeframe is not None else 7 * 86400
        return bool(watermark - st.get("newest", watermark) > horizon + self.lateness)
