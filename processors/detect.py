"""The detect agents: ``logs.normalized`` → rules → ``alerts`` (thin shell over rules.engine).

Two stages, so every (rule, query key) lives on exactly one worker however many run:

1. ``detect-route`` reads normalized events, finds the rules whose filter matches
   (``RuleSet``: prefilter, then matcher), emits alerts of stateless rules (any, blacklist,
   whitelist) directly, and forwards the event to the internal topic
   ``<app id>-detect-keyed`` with the Kafka key ``rule \\x1f query key``. Flatline rules
   usually see every event, so their events are pre-aggregated per key and second (one
   record with a weight) before forwarding.
2. ``detect-eval`` reads that keyed topic and evaluates with the key's state from the
   Faust table ``detect-state`` (changelog topic ``<app id>-detect-state-changelog``: the
   windows, seen terms and pending resolves survive restarts and rebalances). The table
   uses the producer's partitioner, so a key's changelog partition is its keyed-topic
   partition; the tick timer may therefore update states outside stream iteration, and it
   only touches keys of partitions this worker owns (not standby copies).

State values are compact JSON bytes; a state that did not change is not written again
(flatline states change at most once a second), which keeps changelog traffic small.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import faust
from aiokafka.partitioner import murmur2

from bitacora.settings import Settings
from processors.app import DETECT_KEYED, DETECT_STATE, internal_topic, state_table
from processors.counters import COUNTERS
from rules.alerts import Alert, build_alert
from rules.engine import (
    CompiledRule,
    RuleSet,
    compile_rule,
    event_time,
    is_idle,
    key_of,
    observe,
    tick,
)
from rules.model import Rule
from rules.types import Match, State

log = logging.getLogger("bitacora.detect")
SEP = "\x1f"
TICK_INTERVAL_S = 1.0


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


class StateCache:
    """Decoded states by table key, reused while the table still holds the same bytes."""

    def __init__(self) -> None:
        self._entries: dict[bytes, tuple[bytes, State]] = {}

    def load(self, table: Any, key: bytes) -> tuple[bytes | None, State]:
        """The stored bytes (or None) and a mutable decoded state for ``key``."""
        raw = table.get(key)
        if raw is None:
            self._entries.pop(key, None)
            return None, {}
        cached = self._entries.get(key)
        if cached is not None and cached[0] == raw:
            return raw, cached[1]
        state: State = json.loads(raw)
        self._entries[key] = (raw, state)
        return raw, state

    def store(self, table: Any, key: bytes, before: bytes | None, state: State, idle: bool) -> None:
        """Write the state back only if it changed; delete it when idle."""
        if idle:
            self._entries.pop(key, None)
            if before is not None:
                del table[key]
            return
        raw = _dumps(state)
        if raw != before:
            table[key] = raw
        self._entries[key] = (raw, state)


class Detector:
    """The compiled rules and the pure steps both agents run."""

    def __init__(self, rules: Sequence[Rule], settings: Settings) -> None:
        compiled = [compile_rule(rule, settings.allowed_lateness_s) for rule in rules]
        self.ruleset = RuleSet(compiled)
        self.rules = {crule.name: crule for crule in self.ruleset.rules}
        self.search_url_base = settings.search_url_base
        # (rule, key) -> [second, weight, event]: flatline pre-aggregation in the router.
        self.pending: dict[tuple[str, str], list[Any]] = {}
        # Counters for status pages and tests.
        self.routed = 0
        self.evaluated = 0
        self.alerted = 0
        self.skipped = 0

    def alert(self, match: Match) -> Alert:
        """An engine match as an alert."""
        return build_alert(match, self.rules[match.rule].rule, self.search_url_base)

    def route(
        self, event: dict[str, Any], now: float
    ) -> tuple[list[Alert], list[tuple[bytes, bytes]]]:
        """Alerts of stateless rules and keyed records to forward, for one event."""
        alerts: list[Alert] = []
        records: list[tuple[bytes, bytes]] = []
        self.routed += 1
        for crule in self.ruleset.matching(event):
            key = key_of(crule, event)
            if crule.stateless:
                alerts.extend(self.alert(m) for m in observe(crule, event, {}, now, key))
            elif crule.kind.coarse and crule.rule.type == "flatline":
                # The whole-second prefix of @timestamp is enough to group (no parsing).
                stamp = event.get("@timestamp")
                second: Any = (
                    stamp[:19] if isinstance(stamp, str) else math.floor(event_time(event, now))
                )
                slot = self.pending.get((crule.name, key))
                if slot is not None and slot[0] == second:
                    slot[1] += 1
                    continue
                if slot is not None:
                    records.append(self.record(crule.name, key, slot[1], slot[2]))
                self.pending[(crule.name, key)] = [second, 1, event]
            else:
                records.append(self.record(crule.name, key, 1, event))
        return alerts, records

    def flush(self) -> list[tuple[bytes, bytes]]:
        """Forward every pre-aggregated flatline slot (called each tick)."""
        records = [
            self.record(name, key, slot[1], slot[2]) for (name, key), slot in self.pending.items()
        ]
        self.pending.clear()
        return records

    @staticmethod
    def record(rule: str, key: str, weight: int, event: dict[str, Any]) -> tuple[bytes, bytes]:
        """The keyed-topic record: Kafka key ``rule␟key``, JSON value."""
        return f"{rule}{SEP}{key}".encode(), _dumps({"r": rule, "k": key, "n": weight, "e": event})

    def evaluate(self, cache: StateCache, table: Any, value: bytes, now: float) -> list[Alert]:
        """Evaluate one keyed record against its state in ``table``."""
        record = json.loads(value)
        crule = self.rules.get(record["r"])
        if crule is None:
            return []  # a rule removed since the record was routed
        table_key = f"{crule.name}{SEP}{record['k']}".encode()
        before, state = cache.load(table, table_key)
        late = state.get("late", 0)
        try:
            matches = observe(crule, record["e"], state, now, record["k"], int(record.get("n", 1)))
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
            # State written by an older definition of the rule: start the key afresh.
            log.warning(
                "rule %s key %s: resetting incompatible state (%r)", crule.name, record["k"], exc
            )
            state.clear()
            matches = observe(crule, record["e"], state, now, record["k"], int(record.get("n", 1)))
        if state.get("late", 0) != late:
            # Beyond the allowed lateness: ignored for windows, counted (see rules.engine).
            COUNTERS.add("detect", "late_event_ignored", crule.name)
        cache.store(table, table_key, before, state, is_idle(crule, state, now))
        self.evaluated += 1
        return [self.alert(m) for m in matches]

    def tick_all(self, cache: StateCache, table: Any, owned: Any, now: float) -> list[Alert]:
        """Tick every state this worker owns (``owned(table_key) -> bool``)."""
        alerts: list[Alert] = []
        for table_key in list(table.keys()):
            if not owned(table_key):
                continue
            name = table_key.decode("utf-8", "replace").split(SEP, 1)[0]
            crule: CompiledRule | None = self.rules.get(name)
            before, state = cache.load(table, table_key)
            if crule is None:
                cache.store(table, table_key, before, state, idle=True)  # rule was removed
                continue
            try:
                alerts.extend(self.alert(m) for m in tick(crule, state, now))
            except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
                log.warning("rule %s: dropping incompatible state (%r)", name, exc)
                state.clear()
            cache.store(table, table_key, before, state, is_idle(crule, state, now))
        return alerts


def register_detect(
    app: faust.App,
    normalized_topic: Any,
    alerts_topic: Any,
    rules: Sequence[Rule],
    settings: Settings,
) -> Detector:
    """Attach the detect agents, their keyed topic, state table and tick timer to ``app``.

    ``normalized_topic``/``alerts_topic`` are raw-bytes faust topics (processors.app.raw_topic);
    alerts go out keyed by their ``dedup_key`` so the notify agent sees a key in order.
    """
    detector = Detector(rules, settings)
    keyed = internal_topic(app, DETECT_KEYED, settings)
    keyed_name = keyed.get_topic_name()
    table = state_table(app, DETECT_STATE, settings)
    cache = StateCache()

    async def send_alerts(alerts: list[Alert]) -> None:
        detector.alerted += len(alerts)
        for alert in alerts:
            COUNTERS.add("detect", "alert", alert.status)
            await alerts_topic.send(key=alert.dedup_key.encode(), value=alert.to_json())

    async def forward(records: list[tuple[bytes, bytes]]) -> None:
        for key, value in records:
            await keyed.send(key=key, value=value)

    @app.agent(normalized_topic, name="detect-route")
    async def detect_route(stream: Any) -> None:
        async for value in stream:
            try:
                event = json.loads(value.decode("utf-8", "replace"))
                if not isinstance(event, dict):
                    continue
                alerts, records = detector.route(event, time.time())
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                # Bad input never stops the flow: this event is skipped, the rest goes on.
                detector.skipped += 1
                COUNTERS.add("detect", "skipped", type(exc).__name__)
                log.warning("detect: skipping an event (%s)", type(exc).__name__)
                continue
            await send_alerts(alerts)
            await forward(records)

    @app.agent(keyed, name="detect-eval")
    async def detect_eval(stream: Any) -> None:
        async for value in stream:
            try:
                alerts = detector.evaluate(cache, table, value, time.time())
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                detector.skipped += 1
                COUNTERS.add("detect", "skipped", type(exc).__name__)
                log.warning("detect: skipping a keyed record (%s)", type(exc).__name__)
                continue
            await send_alerts(alerts)

    @functools.lru_cache(maxsize=65536)
    def partition_of(table_key: bytes) -> int:
        # The producer's default partitioner (murmur2), as used for table and keyed topic.
        return int((murmur2(table_key) & 0x7FFFFFFF) % settings.topic_partitions)

    @app.timer(TICK_INTERVAL_S, name="detect-tick")  # type: ignore[untyped-decorator]
    async def detect_tick() -> None:
        await forward(detector.flush())
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == keyed_name}
        owned = lambda table_key: partition_of(table_key) in mine  # noqa: E731 - tiny predicate
        await send_alerts(detector.tick_all(cache, table, owned, time.time()))

    return detector
