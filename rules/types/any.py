"""``any``: every event that passes the filter is a match (ElastAlert2 ``any``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bitacora.rules.types.base import Match, RuleKind, State


class AnyRule(RuleKind):
    """One match per event; realert in the notifier keeps the pages down."""

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Match every event."""
        return [self.match(st, key, event, 1, ts, ts)]

    def idle(self, st: State, watermark: float) -> bool:
        """Nothing to keep."""
        return True
