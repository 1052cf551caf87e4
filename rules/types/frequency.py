"""``frequency``: ``num_events`` events within ``timeframe``, per query_key (ElastAlert2).

The window spans ``(newest - timeframe, newest]``: an event exactly ``timeframe`` older
than the newest one has left it (ElastAlert2's ``EventWindow`` drops while ``duration >=
timeframe``). Out-of-order events within the lateness are inserted in time order. Only
the newest ``num_events`` times are kept (enough to decide, and bounded). Reaching
``num_events`` yields one match and empties the window, as ElastAlert2 does. The alert
resolves once a whole ``timeframe`` (by the watermark) passes after the last match
without reaching ``num_events`` again, or at once when an event matching the rule's
``resolve_filter`` (a Bitácora extension) arrives for the key, no older than the match.

Events carrying ``event.id`` are counted once: the ids of the last ``2 * num_events``
events are remembered, so a replay after a processor restart (at-least-once delivery)
does not inflate the window.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bitacora.rules.types.base import Match, RuleKind, State, trim_before

if TYPE_CHECKING:
    from bitacora.rules.model import Rule

# Membership of an event id in a key's ``ids`` list: a set kept beside the state (which
# must stay plain JSON) while that very list lives; a state read again from its bytes gets
# a new list and a new set. Only this module changes ``ids`` lists, and it never appends an
# id already in them, so the set mirrors the list.
_ID_SETS: dict[int, tuple[list[Any], set[Any]]] = {}


def _ids_of(seen: list[Any]) -> set[Any] | None:
    """The set of ``seen`` (None when an id cannot be in a set)."""
    entry = _ID_SETS.get(id(seen))
    if entry is not None and entry[0] is seen:
        return entry[1]
    try:
        ids = set(seen)
    except TypeError:  # an unhashable id (a list in event.id): scan the list instead
        return None
    if len(_ID_SETS) > 4096:
        _ID_SETS.clear()
    _ID_SETS[id(seen)] = (seen, ids)
    return ids


def _seen(st: State, event_id: Any, needed: int) -> bool:
    """Whether ``event_id`` was counted already; else remember it (the last 2 * needed)."""
    seen: list[Any] | None = st.get("ids")
    if seen is None:
        seen = st["ids"] = []
    ids = _ids_of(seen)
    if ids is None:
        if event_id in seen:
            return True
    elif event_id in ids:
        return True
    else:
        ids.add(event_id)
    seen.append(event_id)
    if len(seen) > 2 * needed:
        gone = seen.pop(0)
        if ids is not None:
            ids.discard(gone)
    return False


class FrequencyRule(RuleKind):
    """Counts per key in a sliding event-time window."""

    required = ("num_events", "timeframe")

    windowed = True
    ticks = True
    resolvable = True

    def __init__(self, rule: Rule, lateness: float) -> None:
        super().__init__(rule, lateness)
        self.timeframe = float(rule.timeframe or 0)
        self.needed = rule.num_events or 1

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Count the event; match when the window holds ``num_events``."""
        needed = self.needed
        event_id = event.get("event.id")
        if event_id is not None and _seen(st, event_id, needed):
            return []
        out = self._resolve(st, st["newest"] - self.lateness, key) if "fired_at" in st else []
        times: list[float] | None = st.get("times")
        if times is None:
            times = st["times"] = []
        if weight == 1:
            bisect.insort(times, ts)
        else:
            for _ in range(min(weight, needed)):
                bisect.insort(times, ts)
        if len(times) > needed:
            del times[: len(times) - needed]
        if times[0] <= times[-1] - self.timeframe:
            trim_before(times, times[-1] - self.timeframe)
        if ts >= times[0]:
            self.remember(st, event)
        if len(times) >= needed:
            out.append(self.match(st, key, event, len(times), times[0], times[-1]))
            st["times"] = []
            if self.rule.resolve:
                st["fired_at"] = times[-1]
        return out

    def on_tick(self, st: State, watermark: float, key: str) -> list[Match]:
        """Send the resolve notice when the quiet timeframe has passed."""
        return self._resolve(st, watermark, key)

    def on_resolve(self, st: State, event: Mapping[str, Any], ts: float, key: str) -> list[Match]:
        """Resolve the key's firing alert now: its service reported itself well again.

        The window starts afresh (failures before the recovery no longer count). A
        recovery older than the match, or one for a key with nothing firing, changes nothing.
        """
        fired = st.get("fired_at")
        if fired is None or ts < fired:
            return []
        del st["fired_at"]
        st["times"] = []
        st.pop("samples", None)
        return [Match(self.rule.name, key, "resolved", event, 0, fired, ts)]

    def _resolve(self, st: State, watermark: float, key: str) -> list[Match]:
        fired = st.get("fired_at")
        timeframe = self.timeframe
        if fired is None or watermark < fired + timeframe:
            return []
        del st["fired_at"]
        count = len(st.get("times", ()))
        event = self.placeholder(st, fired + timeframe)
        return [Match(self.rule.name, key, "resolved", event, count, fired, fired + timeframe)]

    def idle(self, st: State, watermark: float) -> bool:
        """Forget a key once its window is over and its alert resolved."""
        quiet = watermark - st.get("newest", watermark) > self.timeframe + self.lateness
        return "fired_at" not in st and bool(quiet)
