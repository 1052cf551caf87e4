"""What every rule type shares: the ``Match`` it emits and the ``RuleKind`` interface.

A rule kind is stateless itself; all state lives in one plain dict per (rule, query key),
mutated in place, so it serializes to JSON and lives in a Faust table. Times are float
epoch seconds of event time (``@timestamp``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from rules.durations import format_timestamp
from rules.model import Rule

State = dict[str, Any]
Status = Literal["firing", "resolved"]
_SAMPLE_TEXT = 1024  # characters kept per string field of a sampled event


@dataclass
class Match:
    """One thing a rule found: fires (or resolves) the alert of ``rule`` for ``key``."""

    rule: str
    key: str
    status: Status
    event: Mapping[str, Any]
    count: int
    first_ts: float
    last_ts: float
    samples: list[Mapping[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


# Inside ``shared_samples()``: the slim copies built so far, by event object. An event
# matching several rules is sampled by each of them, so its copy is built once and then
# duplicated (a C-level shallow copy). The events are held, so their ids stay theirs while
# the scope lasts; callers open it only where events are not mutated meanwhile.
_slims: list[dict[int, tuple[Mapping[str, Any], dict[str, Any]]]] = []


@contextmanager
def shared_samples() -> Iterator[None]:
    """Within this scope, an event sampled again (same object, unchanged) is slimmed once."""
    _slims.append({})
    try:
        yield
    finally:
        _slims.pop()


def slim(event: Mapping[str, Any]) -> dict[str, Any]:
    """A bounded copy of an event for samples kept in state (long texts cut with a marker)."""
    if _slims:
        known = _slims[-1].get(id(event))
        if known is not None:
            return dict(known[1])
    out: dict[str, Any] = {}
    for name, value in event.items():
        if isinstance(value, str) and len(value) > _SAMPLE_TEXT:
            value = value[:_SAMPLE_TEXT] + "…[truncated]"
        out[name] = value
    if _slims:
        _slims[-1][id(event)] = (event, out)
        return dict(out)
    return out


def trim_before(times: list[float], limit: float) -> None:
    """Drop the sorted ``times`` that are ``<= limit`` (a window excludes its old edge)."""
    cut = bisect.bisect_right(times, limit)
    if cut:
        del times[:cut]


class RuleKind:
    """The behaviour of one rule type over one key's state.

    ``windowed`` kinds ignore events older than the key's newest event minus the allowed
    lateness (they are counted in ``state["late"]``); ``ticks`` kinds also act when time
    passes without events (``on_tick`` with a watermark = now - lateness).
    """

    windowed: ClassVar[bool] = False
    ticks: ClassVar[bool] = False
    coarse: ClassVar[bool] = False  # event times kept in whole seconds (bounded, stable state)

    def __init__(self, rule: Rule, lateness: float) -> None:
        self.rule = rule
        self.lateness = lateness
        self.sample_size = rule.sample_size

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """React to one matching event at event time ``ts``."""
        raise NotImplementedError

    def on_tick(self, st: State, watermark: float, key: str) -> list[Match]:
        """React to time passing: nothing happens by default."""
        return []

    def idle(self, st: State, watermark: float) -> bool:
        """True when the key's state carries nothing worth keeping and may be deleted."""
        return not st or watermark - st.get("hi", watermark) > 7 * 86400

    # Helpers shared by the kinds.
    def remember(self, st: State, event: Mapping[str, Any]) -> None:
        """Keep the last ``sample_size`` events of the key as samples for its alert."""
        if self.sample_size:
            samples = st.setdefault("s", [])
            samples.append(slim(event))
            if len(samples) > self.sample_size:
                del samples[0]

    def match(
        self,
        st: State,
        key: str,
        event: Mapping[str, Any],
        count: int,
        first_ts: float,
        last_ts: float,
        status: Status = "firing",
        extra: dict[str, Any] | None = None,
    ) -> Match:
        """Build a match; samples move from the state into it (the window restarts)."""
        samples = st.pop("s", None) or ([slim(event)] if event and self.sample_size else [])
        return Match(
            self.rule.name, key, status, event, count, first_ts, last_ts, samples, extra or {}
        )

    def placeholder(self, st: State, ts: float) -> dict[str, Any]:
        """An event standing for a time-driven match: the key fields and the time."""
        event: dict[str, Any] = dict(st.get("k") or {})
        event["@timestamp"] = format_timestamp(ts)
        return event
