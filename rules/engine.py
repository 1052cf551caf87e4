"""The rule engine: pure functions over a rule and one key's plain-dict state.

    crule = compile_rule(rule, lateness_s)        # once: filters → matcher, type → kind
    matches = evaluate(crule, event, state, now)   # per event; state is the key's dict
    matches = tick(crule, state, now)              # per key, as time passes
    matches = settle(crule, event, state, now, key)  # an event of its resolve_filter

``state`` belongs to one (rule, query key): pick it with ``key_of(crule, event)``. It is
JSON-serializable data mutated in place; callers that keep it in a Faust table write it
back after each call. ``now`` is wall-clock epoch seconds; event time comes from
``@timestamp`` (an event without a readable one is taken at ``now``).

Lateness: windowed types (frequency, spike, flatline, change, cardinality,
metric_aggregation) ignore an event older than the newest event of its key minus
``lateness`` and count it in ``state["late"]`` and ``LATE_EVENTS``; events within the
lateness are placed in time order. Ticks use the watermark ``now - lateness``.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from bitacora.durations import parse_timestamp
from bitacora.fields import getter, lookup
from bitacora.rules.decide import Decider, decided
from bitacora.rules.fields import each, hashable_key, norm
from bitacora.rules.filters import compile_filters
from bitacora.rules.matchers import Condition, Matcher, Requirement
from bitacora.rules.model import Rule
from bitacora.rules.types import RULE_TYPES, Match, RuleKind, State

# Late events ignored per rule name, for the processor's metrics.
LATE_EVENTS: Counter[str] = Counter()
# State key: the end of the key's realert period (see hold_realerted).
REALERT_UNTIL: Final = "realert_until"
_STATELESS = frozenset({"any", "blacklist", "whitelist"})


@dataclass(frozen=True, eq=False)
class CompiledRule:
    """A rule ready for the stream: its matcher, requirements, kind and key fields."""

    rule: Rule
    matcher: Matcher
    requires: tuple[Requirement, ...]
    kind: RuleKind
    key_fields: tuple[str, ...]
    lateness: float
    # The filter is exactly these conditions, ANDed (rules.matchers.Compiled.conditions;
    # None: it says more): the rule set decides such rules by masks (rules.decide).
    conditions: tuple[Condition, ...] | None = None
    # resolve_filter compiled (its matcher and requirements), None without one.
    resolver: Matcher | None = None
    resolver_requires: tuple[Requirement, ...] = ()
    resolver_conditions: tuple[Condition, ...] | None = None

    @property
    def name(self) -> str:
        """The rule's name (unique among loaded rules)."""
        return self.rule.name

    @property
    def stateless(self) -> bool:
        """True for types that keep no state (any, blacklist, whitelist)."""
        return self.rule.type in _STATELESS

    @property
    def ticks(self) -> bool:
        """True for types that act when time passes (they need ``tick``)."""
        return self.kind.ticks


def compile_rule(rule: Rule, lateness_s: float = 60.0) -> CompiledRule:
    """Compile ``rule`` once: filter clauses into a matcher, its type into a kind."""
    compiled = compile_filters(rule.filter)
    kind = RULE_TYPES[rule.type](rule, lateness_s)
    resolver = None if rule.resolve_filter is None else compile_filters(rule.resolve_filter)
    return CompiledRule(
        rule,
        compiled.match,
        tuple(compiled.requires),
        kind,
        rule.key_fields,
        lateness_s,
        compiled.conditions,
        None if resolver is None else resolver.match,
        () if resolver is None else tuple(resolver.requires),
        None if resolver is None else resolver.conditions,
    )


def event_time(event: Mapping[str, Any], default: float) -> float:
    """Epoch seconds of the event's ``@timestamp`` (RFC 3339 text or epoch s/ms)."""
    value = event.get("@timestamp")
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError:
            return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0 if value > 1e11 else float(value)
    return default


def key_of(crule: CompiledRule, event: Mapping[str, Any]) -> str:
    """The query key of ``event`` for this rule (``all`` without a query_key)."""
    fields = crule.key_fields
    if not fields:
        return "all"
    if len(fields) == 1:
        # The common case, kept cheap: one flat field read.
        value = event.get(fields[0])
        if type(value) is str:
            return value
    return hashable_key(event, fields)


def observe(
    crule: CompiledRule,
    event: Mapping[str, Any],
    state: State,
    now: float,
    key: str,
    weight: int = 1,
    ts: float | None = None,
) -> list[Match]:
    """Feed an event that already passed the rule's filter to the key's ``state``.

    ``weight`` > 1 stands for that many events at the same time (pre-aggregated by the
    router for counting types); other types treat it as one event. ``ts`` may carry the
    event time already parsed by the caller.
    """
    if ts is None:
        ts = event_time(event, now)
    if crule.kind.coarse:
        ts = float(math.floor(ts))
    newest = state.get("newest")
    if crule.kind.windowed and newest is not None and ts < newest - crule.lateness:
        state["late"] = state.get("late", 0) + 1
        LATE_EVENTS[crule.name] += 1
        return []
    if newest is None or ts > newest:
        state["newest"] = ts
    if "key" not in state:
        state["key"] = key
        if crule.key_fields:
            state["key_values"] = {field: lookup(event, field) for field in crule.key_fields}
    return crule.kind.on_event(state, event, ts, key, weight)


def evaluate(
    crule: CompiledRule, event: Mapping[str, Any], state: State, now: float
) -> list[Match]:
    """Filter and evaluate one event against the key's ``state`` (see the module doc)."""
    if not crule.matcher(event):
        return []
    return observe(crule, event, state, now, key_of(crule, event))


def tick(crule: CompiledRule, state: State, now: float) -> list[Match]:
    """Let time pass for one key's ``state``: flatline silences, resolves, closed buckets."""
    if not crule.kind.ticks or "key" not in state:
        return []
    return crule.kind.on_tick(state, now - crule.lateness, str(state["key"]))


def settle(
    crule: CompiledRule,
    event: Mapping[str, Any],
    state: State,
    now: float,
    key: str,
    ts: float | None = None,
) -> list[Match]:
    """Feed an event that matched the rule's ``resolve_filter`` (not its filter) to the
    key's ``state``: it resolves the key's firing alert at once. A key without state has
    nothing firing: it is left without state (a no-op)."""
    if "key" not in state:
        return []
    if ts is None:
        ts = event_time(event, now)
    return crule.kind.on_resolve(state, event, ts, key)


def is_idle(crule: CompiledRule, state: State, now: float) -> bool:
    """True when the key's state may be deleted (nothing left that could match, and no
    realert period running: see :func:`hold_realerted`)."""
    until = state.get(REALERT_UNTIL)
    if until is None:
        return crule.kind.idle(state, now - crule.lateness)
    if until > now:
        return False
    rest = state.copy()
    del rest[REALERT_UNTIL]
    return crule.kind.idle(rest, now - crule.lateness)


def hold_realerted(
    crule: CompiledRule,
    state: State,
    matches: list[Match],
    clock: float,
    silenced: Callable[[str, str, float], bool] | None = None,
) -> tuple[list[Match], int]:
    """The matches to forward as alerts, and how many were held back by realert.

    The notify policy (rules.notify.policy) sends a firing alert of a key only once per
    ``realert`` period, judged on the alerts' creation times; a firing match within the
    period after the last firing alert forwarded for the key would only be indexed there
    as ``suppressed``. It is held back here instead, where the key's state is at hand, as
    ElastAlert2 drops matches of a silenced (realerting) rule. ``clock`` is the creation
    time the alerts get (``rules.alerts.alert_clock``); the period's end is kept in the
    key's state, so it survives restarts with the window. A resolve ends the period (the
    policy sends the next firing alert at once). A match that a silence covers is
    forwarded without starting a period: the policy records it as silenced and starts none
    either. The period is ``realert`` even with ``exponential_realert``, whose periods are
    never shorter: the policy still suppresses within the longer ones.
    """
    realert = crule.rule.realert
    if realert <= 0:
        return matches, 0
    out: list[Match] = []
    for match in matches:
        if match.status == "resolved":
            state.pop(REALERT_UNTIL, None)
        elif clock < state.get(REALERT_UNTIL, -math.inf):
            continue
        elif silenced is None or not silenced(match.rule, match.key, clock):
            state[REALERT_UNTIL] = clock + realert
        out.append(match)
    return out, len(matches) - len(out)


class RuleSet:
    """Rules reached through the values their filters require, so an event only meets
    rules it can match.

    Rules with a requirement on one field (``log.level`` in {error, fatal}, ``error.type``
    present) are decided together, one mask lookup per field (``rules.decide``); only
    those whose filter says more than their conditions then run their matcher. The
    others (requirements that are alternatives over several fields) are indexed under
    their most selective requirement: one dict lookup per field, then the matcher; a rule
    without any requirement is always checked.
    """

    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        self.rules = [crule for crule in rules if crule.rule.is_enabled]
        self.by_name = {crule.name: crule for crule in self.rules}
        takes = [
            (crule, decided(crule, crule.matcher, crule.conditions, crule.requires))
            for crule in self.rules
        ]
        by_masks = [taken for _, taken in takes if taken is not None]
        self._decider = Decider(by_masks) if by_masks else None
        indexed = [crule for crule, taken in takes if taken is None]
        self.index: dict[str, dict[str, list[CompiledRule]]] = {}
        self.present: dict[str, list[CompiledRule]] = {}
        self.always: list[CompiledRule] = []
        # Index each rule by its most selective requirement: the (field, values) pair
        # shared with the fewest other rules, so an event meets as few rules as possible.
        shared: Counter[tuple[str, str]] = Counter()
        for crule in indexed:
            for requirement in crule.requires:
                for field, values in requirement:
                    shared.update((field, value) for value in values or ())

        def cost(requirement: tuple[tuple[str, frozenset[str] | None], ...]) -> int:
            # Presence of a field is nearly free to test but lets most events through.
            return sum(
                1000 if values is None else sum(shared[(field, v)] for v in values)
                for field, values in requirement
            )

        # A rule indexed under alternatives of several fields can be reached twice.
        self._repeats = False
        for crule in indexed:
            if not crule.requires:
                self.always.append(crule)
                continue
            chosen = min(crule.requires, key=cost)
            self._repeats = self._repeats or len({field for field, _ in chosen}) > 1
            for field, values in chosen:
                if values is None:
                    self.present.setdefault(field, []).append(crule)
                    continue
                table = self.index.setdefault(field, {})
                for value in values:
                    table.setdefault(value, []).append(crule)
        # (field, reader, table): the flat key first, the reader only when it is missing
        # (nested events); one call less per field and event in the common case.
        self._index_getters = [(f, getter(f), table) for f, table in self.index.items()]
        self._present_getters = [(getter(f), rules) for f, rules in self.present.items()]
        # Rules with a resolve_filter, indexed the same way by that filter (a view of each
        # rule whose filter is its resolve_filter).
        views = [
            dataclasses.replace(
                crule,
                matcher=crule.resolver,
                requires=crule.resolver_requires,
                conditions=crule.resolver_conditions,
                resolver=None,
            )
            for crule in self.rules
            if crule.resolver is not None
        ]
        self._resolvers = RuleSet(views) if views else None
        # Whether any rule has a resolve_filter (else resolving() is always empty).
        self.resolves = bool(views)

    def candidates(self, event: Mapping[str, Any]) -> list[CompiledRule]:
        """Indexed rules whose quick prefilter the event passes (their full filter still
        applies); decided rules are not among them (see :meth:`matching`)."""
        return self._candidates(event)[0]

    def _candidates(self, event: Mapping[str, Any]) -> tuple[list[CompiledRule], bool]:
        # Also whether a rule may be in the list twice: a rule under one field is reached
        # more than once only through a field holding several values (a list).
        found = list(self.always)
        several = self._repeats
        for field, get, table in self._index_getters:
            value = event.get(field)
            if value is None:
                value = get(event)
                if value is None:
                    continue
            if type(value) is str:
                hit = table.get(value)
                if hit:
                    found.extend(hit)
                continue
            several = True
            for item in each(value):
                found.extend(table.get(norm(item), ()))
        for get, rules in self._present_getters:
            if get(event) is not None:
                found.extend(rules)
        return found, several

    def matching(self, event: Mapping[str, Any]) -> list[CompiledRule]:
        """Rules whose whole filter matches ``event`` (each rule at most once): the decided
        ones, then the indexed ones. The caller must not change the list (it may be the
        decider's, shared by every event with the same outcome)."""
        decided = [] if self._decider is None else self._decider.matching(event)
        if not self._index_getters and not self._present_getters and not self.always:
            return decided
        candidates, several = self._candidates(event)
        if several and len(candidates) > len(set(map(id, candidates))):
            candidates = list({id(c): c for c in candidates}.values())
        found = [crule for crule in candidates if crule.matcher(event)]
        return decided + found if decided else found

    def resolving(
        self, event: Mapping[str, Any], matched: Iterable[CompiledRule] = ()
    ) -> list[CompiledRule]:
        """Rules whose ``resolve_filter`` matches ``event``, except the ``matched`` ones
        (an event matching a rule's filter counts as a match, never as a recovery)."""
        views = self._resolvers.matching(event) if self._resolvers is not None else None
        if not views:
            return []
        skip = {crule.name for crule in matched}
        return [self.by_name[view.name] for view in views if view.name not in skip]
