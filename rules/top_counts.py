"""ElastAlert2's ``top_count_keys`` in replays: the commonest values around each match.

ElastAlert2 counts, per key field, the events its filter selects (of the match's query
key) from ``timeframe`` (10 minutes without one; twice the timeframe for flatline) before
the match to 10 minutes after, and adds the ``top_count_number`` commonest values as
``top_events_<field>``. A replay sees the events after a match too, so it does the same;
the stream reads the stored events when it alerts (``processors.alerting.top_counts_stage``)
and counts them here.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bitacora.durations import parse_timestamp
from bitacora.fields import lookup
from bitacora.rules.alerts import Alert
from bitacora.rules.engine import CompiledRule, key_of
from bitacora.rules.fields import norm
from bitacora.rules.model import Rule

AFTER_S = 600.0


def window_before(rule: Rule) -> float:
    """Seconds before the match that are counted (ElastAlert2's rule)."""
    before = rule.timeframe or 600.0
    return before * 2 if rule.type == "flatline" else before


@dataclass
class TopCounts:
    """The selected events of one rule: time, query key and the counted fields' values."""

    crule: CompiledRule
    times: list[float] = field(default_factory=list)
    rows: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def add(self, event: Mapping[str, Any], ts: float) -> None:
        """Remember ``event`` if the rule's filter selects it (events come in time order)."""
        if not self.crule.matcher(event):
            return
        keys = self.crule.rule.top_count_keys or []
        values = tuple(lookup(event, name) for name in keys)
        at = bisect.bisect_right(self.times, ts)
        self.times.insert(at, ts)
        self.rows.insert(at, (key_of(self.crule, event), values))

    def annotate(self, alert: Alert) -> None:
        """Add ``top_events_<field>`` to a firing alert of the rule."""
        rule: Rule = self.crule.rule
        if alert.status != "firing":
            return
        stamp = alert.event.get("@timestamp")
        moment = parse_timestamp(stamp) if isinstance(stamp, str) else 0.0
        before = window_before(rule)
        low = bisect.bisect_right(self.times, moment - before)  # ElastAlert2: (start, end]
        high = bisect.bisect_right(self.times, moment + AFTER_S)
        rows = [
            values for key, values in self.rows[low:high] if not rule.key_fields or key == alert.key
        ]
        for index, name in enumerate(rule.top_count_keys or []):
            counts = Counter(norm(v[index]) for v in rows if v[index] is not None)
            alert.extra[f"top_events_{name}"] = dict(counts.most_common(rule.top_count_number))
