"""The detector: the compiled rules and the pure steps of both detection stages.

:mod:`processors.alerting.detect_stage` says what the stages are and wires them to faust;
this module is what they run per event and per keyed item, so it is compiled with the
normalizer (bitacora/compiled.py): with many rules, routing and evaluating are most of the
alerting role's CPU.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from mypy_extensions import mypyc_attr

from bitacora.processors.alerting.keyed_records import (
    RESOLVE_WEIGHT,
    Group,
    KeyedBatch,
    decode_groups,
    item_partitioner,
    rule_of,
    table_key,
    table_partitioner,
)
from bitacora.processors.alerting.state_cache import StateCache, dump_state
from bitacora.processors.shell.counters import COUNTERS, RULE_MATCHES
from bitacora.rules.alerts import Alert, alert_clock, build_alert
from bitacora.rules.engine import (
    CompiledRule,
    RuleSet,
    compile_rule,
    event_time,
    hold_realerted,
    is_idle,
    key_of,
    observe,
    settle,
    tick,
)
from bitacora.rules.model import Rule
from bitacora.rules.types import Match, State
from bitacora.rules.types.base import clear_state
from bitacora.settings import Settings

__all__ = ["Detector", "Silenced"]

log = logging.getLogger("bitacora.detect")
_BAD_INPUT = (ValueError, TypeError, AttributeError, KeyError, IndexError)
# What the router does with a rule's match: forward it, alert at once, or count it into
# the key's current second (flatline).
_FORWARD, _STATELESS, _PER_SECOND = "forward", "stateless", "per-second"

# Whether a silence covers (rule, key) at a time: the notify service's silences.
Silenced = Callable[[str, str, float], bool]
# Flatline pre-aggregation: (rule, key) -> [second, weight, event, event JSON or None].
Pending = dict[tuple[str, str], list[Any]]


def _add_slot(batch: KeyedBatch, rule: str, key: str, slot: list[Any]) -> None:
    """Forward a flatline slot [second, weight, event, event JSON or None] as one item."""
    _second, weight, event, raw = slot
    batch.add(rule, key, weight, raw if raw is not None else dump_state(event))


# Interpreted subclasses allowed: a test replaces the realert hold to compare the pages
# sent with and without it.
@mypyc_attr(allow_interpreted_subclasses=True)
class Detector:
    """The compiled rules and the pure steps both agents run."""

    def __init__(self, rules: Sequence[Rule], settings: Settings) -> None:
        self.allowed_lateness_s = settings.allowed_lateness_s
        self.search_url_base = settings.search_url_base
        self.partition_of = table_partitioner(settings.topic_partitions)
        self.partition_for = item_partitioner(settings.topic_partitions)
        self.replace_rules(rules)
        # Called with the names of rules whose states must go (changed or removed rules).
        self.drop_states: Callable[[set[str]], None] = lambda _names: None
        # Set by the alerting role to the notify service's silences (see hold_realerted).
        self.silenced: Silenced | None = None
        # Counters for status pages and tests.
        self.routed = 0
        self.evaluated = 0
        self.alerted = 0
        self.held = 0  # firing matches held back within their key's realert period
        self.skipped = 0

    def replace_rules(self, rules: Sequence[Rule]) -> None:
        """Compile and install ``rules`` (at start, and on a reload: one step in the loop).

        States are keyed by rule name, so a rule that did not change keeps its windows.
        """
        compiled = [compile_rule(rule, self.allowed_lateness_s) for rule in rules]
        ruleset = RuleSet(compiled)
        # How the router treats each rule's match, decided once per rule.
        routes = {
            crule: (
                crule.name,
                _STATELESS
                if crule.stateless
                else _PER_SECOND
                if crule.kind.coarse and crule.rule.type == "flatline"
                else _FORWARD,
            )
            for crule in ruleset.rules
        }
        self.ruleset, self._routes = ruleset, routes
        self.rules = {crule.name: crule for crule in ruleset.rules}

    def count_alerts(self, alerts: Sequence[Alert]) -> None:
        """Count alerts on their way to the alerts topic (status pages, metrics)."""
        self.alerted += len(alerts)
        for alert in alerts:
            RULE_MATCHES.labels(alert.rule, alert.status).inc()

    def alert(self, match: Match, now: float) -> Alert:
        """An engine match as an alert created at ``now``."""
        return build_alert(match, self.rules[match.rule].rule, self.search_url_base, now)

    def _hold(
        self, crule: CompiledRule, state: State, matches: list[Match], clock: float
    ) -> list[Match]:
        """The matches that are not within their key's realert period (the rest counted)."""
        matches, held = hold_realerted(crule, state, matches, clock, self.silenced)
        if held:
            self.held += held
            COUNTERS.add("detect", "realert_held", crule.name, held)
        return matches

    def _route(
        self,
        event: dict[str, Any],
        raw: bytes | None,
        now: float,
        batch: KeyedBatch,
        pending: Pending,
    ) -> list[Alert]:
        """Route one event: alerts of stateless rules; its items added to ``batch``.

        Flatline matches are counted into ``pending`` per (rule, key) and second; a slot is
        added (as one weighted item) when its key moves to another second.
        """
        alerts: list[Alert] = []
        self.routed += 1
        routes = self._routes
        forward: list[tuple[str, str]] = []
        second: Any = None  # the event's whole second, for flatline rules (read once)
        matching = self.ruleset.matching(event)
        for crule in matching:
            key = key_of(crule, event)
            name, how = routes[crule]
            if how is _FORWARD:
                forward.append((name, key))
            elif how is _STATELESS:
                alerts.extend(self.alert(m, now) for m in observe(crule, event, {}, now, key))
            else:
                # Flatline: the whole-second prefix of @timestamp is enough to group.
                if second is None:
                    stamp = event.get("@timestamp")
                    second = (
                        stamp[:19] if isinstance(stamp, str) else math.floor(event_time(event, now))
                    )
                slot = pending.get((name, key))
                if slot is not None and slot[0] == second:
                    slot[1] += 1
                    continue
                if slot is not None:
                    _add_slot(batch, name, key, slot)
                pending[(name, key)] = [second, 1, event, raw]
        resolving = (
            [(c.name, key_of(c, event)) for c in self.ruleset.resolving(event, matching)]
            if self.ruleset.resolves
            else ()
        )
        if forward or resolving:
            raw = raw if raw is not None else dump_state(event)
            if forward:
                batch.add_event(raw, forward)
            if resolving:
                batch.add_event(raw, resolving, RESOLVE_WEIGHT)
        return alerts

    def route_values(self, values: Sequence[bytes], now: float) -> tuple[list[Alert], KeyedBatch]:
        """Route a batch of encoded events: alerts of stateless rules and the keyed batch.

        Flatline counts are pre-aggregated within the batch and all forwarded with it, so
        nothing routed waits in memory past its batch (whose offsets commit after it).
        A value that is not a JSON object is skipped and counted (bad input never stops
        the flow).
        """
        batch = KeyedBatch(self.partition_for)
        alerts: list[Alert] = []
        pending: Pending = {}
        for value in values:
            try:
                try:
                    event, raw = orjson.loads(value), value
                except orjson.JSONDecodeError:
                    event, raw = json.loads(value.decode("utf-8", "replace")), None
                if not isinstance(event, dict):
                    raise TypeError("not a JSON object")
                alerts += self._route(event, raw, now, batch, pending)
            except _BAD_INPUT as exc:
                self.skip("an event", exc)
        for (name, key), slot in pending.items():
            _add_slot(batch, name, key, slot)
        return alerts, batch

    def skip(self, what: str, exc: Exception) -> None:
        """Count and log input skipped because it could not be read."""
        self.skipped += 1
        COUNTERS.add("detect", "skipped", type(exc).__name__)
        log.warning("detect: skipping %s (%s)", what, type(exc).__name__)

    def evaluate_values(
        self, cache: StateCache, table: Any, values: Sequence[bytes], now: float
    ) -> list[Alert]:
        """Evaluate keyed records taken together (unreadable ones skipped and counted)."""
        groups: list[Group] = []
        for value in values:
            try:
                groups += decode_groups(value)
            except _BAD_INPUT as exc:
                self.skip("a keyed record", exc)
        return self.evaluate_groups(cache, table, groups, now)

    def evaluate_groups(
        self, cache: StateCache, table: Any, groups: Sequence[Group], now: float
    ) -> list[Alert]:
        """Evaluate each state's items in order; each state is loaded and stored once.

        A state that turns idle after an item is emptied, exactly as if it had been deleted
        from the table and the next item had found none.
        """
        alerts: list[Alert] = []
        clock = alert_clock(now)
        touched: dict[tuple[str, str], tuple[bytes, bytes | None, State]] = {}
        rules = self.rules
        evaluated = 0
        for name, key, members, events, times in groups:
            crule = rules.get(name)
            if crule is None:
                continue  # a rule removed since the record was routed
            entry = touched.get((name, key))
            if entry is None:
                tkey = table_key(name, key)
                entry = touched[(name, key)] = (tkey, *cache.load(table, tkey))
            state = entry[2]
            for i in range(0, len(members), 2):
                try:
                    weight, at = members[i], members[i + 1]
                    event = events[at]
                    ts = times[at]  # an event shared by several groups is parsed once
                    if ts is None:
                        ts = times[at] = event_time(event, now)
                    late = state.get("late", 0)
                    try:
                        matches = (
                            settle(crule, event, state, now, key, ts)
                            if weight == RESOLVE_WEIGHT
                            else observe(crule, event, state, now, key, weight, ts)
                        )
                    except _BAD_INPUT as exc:
                        # State written by an older definition of the rule: start afresh.
                        log.warning("rule %s key %s: resetting state (%r)", name, key, exc)
                        clear_state(state)
                        matches = (
                            []
                            if weight == RESOLVE_WEIGHT
                            else observe(crule, event, state, now, key, weight, ts)
                        )
                    if state.get("late", 0) != late:
                        # Beyond the allowed lateness: ignored, counted (rules.engine).
                        COUNTERS.add("detect", "late_event_ignored", name)
                    if is_idle(crule, state, now):
                        clear_state(state)
                    evaluated += 1
                    if matches:
                        matches = self._hold(crule, state, matches, clock)
                        alerts += [self.alert(m, now) for m in matches]
                except _BAD_INPUT as exc:
                    self.skip("an item", exc)
        self.evaluated += evaluated
        for tkey, before, state in touched.values():
            cache.store(table, tkey, before, state, idle=not state)
        return alerts

    def tick_all(self, cache: StateCache, table: Any, owned: Any, now: float) -> list[Alert]:
        """Tick every state this worker owns (``owned(table_key) -> bool``).

        A state is written back only when its tick matched or it went idle: what a quiet
        tick trims (old buckets, window times) is written with the key's next change, and
        trimming again after a restart is harmless.
        """
        alerts: list[Alert] = []
        clock = alert_clock(now)
        for tkey in list(table.keys()):
            if not owned(tkey):
                continue
            name = rule_of(tkey)
            crule: CompiledRule | None = self.rules.get(name)
            before, state = cache.load(table, tkey)
            if crule is None:
                cache.store(table, tkey, before, state, idle=True)  # rule was removed
                continue
            changed = True
            try:
                found = tick(crule, state, now)
                changed = bool(found)
                alerts.extend(self.alert(m, now) for m in self._hold(crule, state, found, clock))
            except _BAD_INPUT as exc:
                log.warning("rule %s: dropping incompatible state (%r)", name, exc)
                clear_state(state)
            idle = is_idle(crule, state, now)
            if changed or idle:
                cache.store(table, tkey, before, state, idle)
        return alerts
