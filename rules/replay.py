"""Run rules over a finite list of events in-process: ``bitacora rules test``, tests, e2e.

Same engine and same notify policy as the stream agents. Time is event time: the engine
is ticked every ``tick_every`` seconds of event time from the first event on, through
gaps between events too (as the stream's timer ticks while a service is silent), so
time-driven types (flatline, resolves, metric buckets) behave as on the stream, and
realert is judged on the alerts' event times. Ticks continue up to ``now``, where a final
tick happens. Rules
with ``aggregation`` group their alerts as ElastAlert2 does (``rules.aggregation``);
``top_count_keys`` adds ``top_events_<field>`` (``rules.top_counts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bitacora.rules.aggregation import aggregate
from bitacora.rules.alerts import Alert, build_alert
from bitacora.rules.engine import (
    CompiledRule,
    RuleSet,
    compile_rule,
    event_time,
    is_idle,
    key_of,
    observe,
    settle,
    tick,
)
from bitacora.rules.model import Rule
from bitacora.rules.notify.policy import decide
from bitacora.rules.top_counts import TopCounts
from bitacora.rules.types import Match, State

# At most this many ticks per gap between events (a replay over a silent week stays
# quick; the ticks of a longer gap are spread evenly over it).
MAX_GAP_TICKS = 20_000


class Engine:
    """In-process evaluation of many rules with state in a dict: tests, replay, bench.

    ``states`` maps ``(rule name, key)`` to the key's state, the same data a Faust table
    holds in the detect agent.
    """

    def __init__(self, rules: Iterable[Rule | CompiledRule], lateness_s: float = 60.0) -> None:
        compiled = [
            r if isinstance(r, CompiledRule) else compile_rule(r, lateness_s) for r in rules
        ]
        self.ruleset = RuleSet(compiled)
        self.states: dict[tuple[str, str], State] = {}

    def process(self, event: Mapping[str, Any], now: float) -> list[Match]:
        """Evaluate every matching rule on ``event``."""
        out: list[Match] = []
        ts: float | None = None
        matching = self.ruleset.matching(event)
        for crule in matching:
            if ts is None:
                ts = event_time(event, now)
            key = key_of(crule, event)
            if crule.stateless:
                out.extend(observe(crule, event, {}, now, key, ts=ts))
                continue
            state = self.states.setdefault((crule.name, key), {})
            out.extend(observe(crule, event, state, now, key, ts=ts))
        for crule in self.ruleset.resolving(event, matching):
            key = key_of(crule, event)
            found = self.states.get((crule.name, key))
            if found is not None:
                out.extend(settle(crule, event, found, now, key))
        return out

    def tick(self, now: float) -> list[Match]:
        """Tick every key of every rule and forget idle keys."""
        out: list[Match] = []
        for (name, key), state in list(self.states.items()):
            crule = self.ruleset.by_name[name]
            out.extend(tick(crule, state, now))
            if is_idle(crule, state, now):
                del self.states[(name, key)]
        return out


def run_rules_over(
    events: Iterable[Mapping[str, Any]],
    rules: Sequence[Rule],
    now: float | None = None,
    *,
    lateness_s: float = 60.0,
    search_url_base: str = "http://127.0.0.1:5601",
    tick_every: float = 10.0,
    apply_realert: bool = True,
) -> list[Alert]:
    """The alerts the rules would have sent for ``events`` (in arrival order)."""
    engine = Engine(rules, lateness_s)
    by_name = {rule.name: rule for rule in rules}
    tops = {r.name: TopCounts(compile_rule(r, lateness_s)) for r in rules if r.top_count_keys}
    matches: list[tuple[float, Match]] = []
    next_tick: float | None = None
    last = 0.0

    def tick_until(watermark: float) -> None:
        # Watermark = a tick's event time: tick as if "now" were that time + lateness.
        nonlocal next_tick
        assert next_tick is not None
        step = max(tick_every, (watermark - next_tick) / MAX_GAP_TICKS)
        while next_tick <= watermark:
            matches.extend((next_tick, m) for m in engine.tick(next_tick + lateness_s))
            next_tick += step

    for event in events:
        ts = event_time(event, last)
        if next_tick is None:
            next_tick = ts + tick_every
        elif ts >= next_tick:
            tick_until(ts)
        last = max(last, ts)
        for top in tops.values():
            top.add(event, ts)
        matches.extend((ts, m) for m in engine.process(event, last + lateness_s))
    final = now if now is not None else last + lateness_s
    if next_tick is not None:
        tick_until(final - lateness_s)
    matches.extend((final - lateness_s, m) for m in engine.tick(final))
    sent: list[tuple[float, Alert]] = []
    states: dict[str, dict[str, Any]] = {}
    for clock, match in matches:
        rule = by_name[match.rule]
        alert = build_alert(match, rule, search_url_base, now=clock)
        if rule.name in tops:
            tops[rule.name].annotate(alert)
        if not apply_realert:
            sent.append((clock, alert))
            continue
        decision = decide(alert, rule, states.get(alert.dedup_key), (), clock)
        states[alert.dedup_key] = decision.state
        if decision.action == "send":
            sent.append((clock, alert))
    # ElastAlert2 applies realert per match, then aggregates what it would send.
    return aggregate(sent, by_name, final)
