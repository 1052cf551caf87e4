"""What every rule type shares: the ``Match`` it emits and the ``RuleKind`` interface.

A rule kind is stateless itself; all state lives in one plain dict per (rule, query key),
mutated in place, so it serializes to JSON and lives in a Faust table. Times are float
epoch seconds of event time (``@timestamp``).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from bitacora.durations import format_timestamp
from bitacora.rules.model import Rule

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


class _Slim(dict[str, Any]):
    """A sample already bounded by :func:`slim` (a plain dict to JSON and to readers)."""

    __slots__ = ()


def slim(event: Mapping[str, Any]) -> dict[str, Any]:
    """A bounded copy of an event for samples kept in state (long texts cut with a marker)."""
    if type(event) is _Slim:
        return event
    long = [n for n, v in event.items() if isinstance(v, str) and len(v) > _SAMPLE_TEXT]
    out = _Slim(event)
    for name in long:
        out[name] = out[name][:_SAMPLE_TEXT] + "…[truncated]"
    return out


def bound_samples(st: State) -> None:
    """Slim the samples :meth:`RuleKind.remember` kept in ``st`` (before it is stored).

    ``remember`` keeps the events themselves: a key sees many events per sample that
    survives, so slimming waits until the state is written or the samples are used.
    """
    samples = st.get("s")
    if samples:
        st["s"] = [slim(sample) for sample in samples]


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
            samples = st.get("s")
            if samples is None:
                samples = st["s"] = []
            samples.append(event)  # slimmed when stored or used (bound_samples)
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
        kept = st.pop("s", None) or ([event] if event and self.sample_size else [])
        samples: list[Mapping[str, Any]] = [slim(sample) for sample in kept]
        return Match(
            self.rule.name, key, status, event, count, first_ts, last_ts, samples, extra or {}
        )

    def placeholder(self, st: State, ts: float) -> dict[str, Any]:
        """An event standing for a time-driven match: the key fields and the time."""
        event: dict[str, Any] = dict(st.get("k") or {})
        event["@timestamp"] = format_timestamp(ts)
        return event
