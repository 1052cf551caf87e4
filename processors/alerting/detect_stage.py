"""Detection: ``logs.normalized`` → rules → ``alerts`` (thin shells over rules.engine).

Two stages, so every (rule, query key) lives on exactly one worker however many run:

1. Route (:meth:`Detector.route_values`, run in batches by :mod:`processors.alerting.route_stage` in
   its own consumer group) finds for each normalized event the rules whose filter matches
   (``RuleSet``: prefilter, then matcher), emits alerts of stateless rules (any,
   blacklist, whitelist) directly, and forwards the rest to the internal topic
   ``<app id>-alerting-detect-keyed``: one record per partition per batch, holding each event once
   and its (rule, query key) items (:mod:`processors.alerting.keyed_records`), in the partition of
   the query key (every rule's state for one key value on one partition). Flatline rules
   usually see every event, so their events are pre-aggregated per key and second within
   a batch (one item with a weight). An event matching a rule's ``resolve_filter`` is
   forwarded to that rule's key as a recovery item (weight ``RESOLVE_WEIGHT``).
2. The faust agent ``detect-eval`` reads that keyed topic and evaluates with the key's
   state from the Faust table ``detect-state`` (changelog topic
   ``<app id>-alerting-detect-state-changelog``: the windows, seen terms, pending resolves and the
   realert period survive restarts and rebalances). A firing match within its key's
   realert period is held back there (rules.engine.hold_realerted), since notify would
   only suppress it. The table writes a key's changelog to its keyed-topic
   partition whoever writes it, so the tick timer may update states outside stream
   iteration; it only touches keys of partitions this worker owns (not standby copies).

State values are compact JSON bytes, decoded once per record and written back once per
record and key, only when they changed (flatline states change at most once a second),
which keeps changelog traffic small. Each stage's input offsets count as done only after
what it produced was handed on: at least once.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import faust
import orjson

from bitacora.processors.alerting.keyed_records import (
    RESOLVE_WEIGHT,
    SEP,
    Group,
    KeyedBatch,
    decode_groups,
    item_partitioner,
    table_key,
    table_partitioner,
)
from bitacora.processors.alerting.state_cache import StateCache, dump_state
from bitacora.processors.app import DETECT_KEYED, DETECT_STATE, internal_topic, state_table
from bitacora.processors.shell.counters import ALERTING_STATE, COUNTERS, RULE_MATCHES
from bitacora.rules.aggregation import route_key
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

__all__ = ["SEP", "Detector", "register_detect"]

log = logging.getLogger("bitacora.detect")
TICK_INTERVAL_S = 1.0
# The evaluator takes keyed records together, so a key's state is written once per batch.
# Larger waits mean fewer, fuller batches for at most that much more alert latency.
EVAL_BATCH = 200
EVAL_WITHIN_S = 0.5
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
            name = tkey.decode("utf-8", "replace").split(SEP, 1)[0]
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


def register_detect(
    app: faust.App, alerts_topic: Any, rules: Sequence[Rule], settings: Settings
) -> Detector:
    """Attach the eval agent, its keyed topic, state table and tick timer to ``app``.

    The route stage runs beside the app on the returned detector
    (:class:`processors.alerting.route_stage.RouteRole`). ``alerts_topic`` is a raw-bytes
    faust topic (processors.app.raw_topic); alerts go out keyed by their ``dedup_key`` (their
    aggregation group when the rule aggregates) so the notify agent sees a key in order.
    """
    detector = Detector(rules, settings)
    keyed = internal_topic(app, DETECT_KEYED, settings)
    keyed_name = keyed.get_topic_name()
    table = state_table(app, DETECT_STATE, settings, detector.partition_of)
    cache = StateCache()

    def drop_states(names: set[str]) -> None:
        """Delete the states of ``names`` this worker owns (a changed rule starts afresh)."""
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == keyed_name}
        for tkey in list(table.keys()):
            name = tkey.decode("utf-8", "replace").split(SEP, 1)[0]
            if name in names and detector.partition_of(tkey) in mine:
                cache.store(table, tkey, table.get(tkey), {}, idle=True)

    detector.drop_states = drop_states

    async def send_alerts(alerts: list[Alert]) -> None:
        detector.count_alerts(alerts)
        for alert in alerts:
            crule = detector.rules.get(alert.rule)
            key = route_key(alert, crule.rule if crule is not None else None)
            await alerts_topic.send(key=key, value=alert.to_json())

    @app.agent(keyed, name="detect-eval")
    async def detect_eval(stream: Any) -> None:
        # Records taken together share one state load and write per key (changelog
        # traffic), and are acknowledged only after their states were written.
        async for values in stream.take(EVAL_BATCH, within=EVAL_WITHIN_S):
            await send_alerts(detector.evaluate_values(cache, table, values, time.time()))

    @app.timer(TICK_INTERVAL_S, name="detect-tick")  # type: ignore[untyped-decorator]
    async def detect_tick() -> None:
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == keyed_name}
        owned = lambda tkey: detector.partition_of(tkey) in mine  # noqa: E731 - tiny predicate
        await send_alerts(detector.tick_all(cache, table, owned, time.time()))
        ALERTING_STATE.set(len(table))

    return detector
