"""What every rule type shares: the ``Match`` it emits and the ``RuleKind`` interface.

A rule kind is stateless itself; all state lives in one plain dict per (rule, query key)
(``State``: its fields are named and typed there), mutated in place, so it serializes to
JSON and lives in a Faust table. Times are float
epoch seconds of event time (``@timestamp``).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypedDict, cast

from bitacora.durations import format_timestamp

if TYPE_CHECKING:  # the rule model imports the type registry
    from bitacora.rules.model import Rule


class State(TypedDict, total=False):
    """One (rule, query key)'s state: a plain JSON object, mutated in place.

    Every rule type's fields are declared here, so a misspelt field fails type checking;
    a state holds only the common fields and its own type's.
    """

    # Common (rules.engine): the newest event time seen, the key, the key fields' values,
    # events dropped as later than the lateness, the samples kept for the next alert, and
    # the end of the realert period of the last firing alert forwarded.
    newest: float
    key: str
    key_values: dict[str, Any]
    late: int
    samples: list[Any]
    realert_until: float
    # frequency: the window's event times, recent event ids, when it last fired.
    times: list[float]
    ids: list[Any]
    fired_at: float
    # spike: [second, count] pairs of both windows, when the windows began, no alert
    # before this time again (alert_on_new_data).
    counts: list[list[float]]
    since: float  # spike, flatline, cardinality, new_term: when the key's window began
    quiet_until: float
    # flatline: the window's event times in whole seconds, and whether it is firing.
    seconds: list[float]
    firing: bool
    # new_term: {field: {term: last seen}}.
    terms: dict[str, dict[str, float]]
    # change: the compared values and when they were seen.
    values: list[Any]
    changed_at: float
    # cardinality: {value: last seen}.
    seen: dict[str, float]
    # metric_aggregation: {bucket start: [documents, values counted, sum, min, max,
    # distinct values]} (indices in rules.types.metric_aggregation).
    buckets: dict[str, list[Any]]
    # spike_aggregation: [bucket end, metric value] samples of both windows.
    metric_samples: list[list[float]]


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
    samples = st.get("samples")
    if samples:
        st["samples"] = [slim(sample) for sample in samples]


def clear_state(st: State) -> None:
    """Empty ``st`` in place (the key starts afresh)."""
    cast(dict[str, Any], st).clear()


def trim_before(times: list[float], limit: float) -> None:
    """Drop the sorted ``times`` that are ``<= limit`` (a window excludes its old edge)."""
    cut = bisect.bisect_right(times, limit)
    if cut:
        del times[:cut]


# A line to suggest for each option a rule type requires (shown when it is missing).
OPTION_EXAMPLES: dict[str, str] = {
    "timeframe": "{minutes: 5}",
    "num_events": "10",
    "threshold": "1",
    "spike_height": "2",
    "spike_type": "up",
    "buffer_time": "{minutes: 5}",
    "metric_agg_type": "avg",
    "ignore_null": "true",
    "whitelist": "[value, …]",
    "blacklist": "[value, …]",
    "match_bucket_filter": "[{term: {field: value}}]",
}


class RuleKind:
    """The behaviour of one rule type over one key's state.

    ``windowed`` kinds ignore events older than the key's newest event minus the allowed
    lateness (they are counted in ``state["late"]``); ``ticks`` kinds also act when time
    passes without events (``on_tick`` with a watermark = now - lateness).
    """

    required: ClassVar[tuple[str, ...]] = ()  # options a rule of this type must set
    windowed: ClassVar[bool] = False
    ticks: ClassVar[bool] = False
    coarse: ClassVar[bool] = False  # event times kept in whole seconds (bounded, stable state)
    resolvable: ClassVar[bool] = False  # accepts ``resolve_filter`` (implements ``on_resolve``)

    @classmethod
    def check(cls, rule: Rule) -> None:
        """Raise ``ValueError`` naming what a rule of this type lacks and a line to add
        (run at load time)."""
        for option in cls.required:
            if getattr(rule, option) is None:
                example = f"{option}: {OPTION_EXAMPLES.get(option, '…')}"
                raise ValueError(
                    f"rule type {rule.type!r} needs option {option!r}: add a line such as "
                    f"`{example}`"
                )
        cls.check_options(rule)

    @classmethod
    def check_options(cls, rule: Rule) -> None:
        """Raise ``ValueError`` for what else this type needs of a rule's options (nothing,
        unless a type says so). A hook rather than ``check`` overridden with ``super()``:
        the compiled build (bitacora/compiled.py) gets ``super()`` wrong in class methods."""

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

    def on_resolve(self, st: State, event: Mapping[str, Any], ts: float, key: str) -> list[Match]:
        """React to an event matching the rule's ``resolve_filter``: end a firing alert."""
        return []

    def idle(self, st: State, watermark: float) -> bool:
        """True when the key's state carries nothing worth keeping and may be deleted."""
        return not st or watermark - st.get("newest", watermark) > 7 * 86400

    # Helpers shared by the kinds.
    def remember(self, st: State, event: Mapping[str, Any]) -> None:
        """Keep the last ``sample_size`` events of the key as samples for its alert."""
        if self.sample_size:
            samples = st.get("samples")
            if samples is None:
                samples = st["samples"] = []
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
        kept = st.pop("samples", None) or ([event] if event and self.sample_size else [])
        samples: list[Mapping[str, Any]] = [slim(sample) for sample in kept]
        return Match(
            self.rule.name, key, status, event, count, first_ts, last_ts, samples, extra or {}
        )

    def placeholder(self, st: State, ts: float) -> dict[str, Any]:
        """An event standing for a time-driven match: the key fields and the time."""
        event: dict[str, Any] = dict(st.get("key_values") or {})
        event["@timestamp"] = format_timestamp(ts)
        return event
