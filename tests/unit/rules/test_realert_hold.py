"""Realert where matches fire: the detect stage holds back what notify would suppress.

``rules.engine.hold_realerted`` keeps a key's realert period in its state; the notify
policy judges realert on the alerts' creation times, the same clock, so an alert the
detect stage forwards is one the policy sends, and holding back changes no page.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bitacora.processors.alerting.detector import Detector
from bitacora.processors.alerting.keyed_records import SEP
from bitacora.processors.alerting.state_cache import StateCache
from bitacora.rules.alerts import Alert, alert_clock
from bitacora.rules.engine import REALERT_UNTIL, CompiledRule, hold_realerted, is_idle
from bitacora.rules.model import Rule
from bitacora.rules.notify.policy import decide
from bitacora.rules.types import Match, State
from bitacora.settings import Settings
from tests.unit.rules.single_records import Item, evaluate_items
from tests.unit.rules.util import T0, ev, make


def fired(status: str = "firing") -> Match:
    return Match("r", "k", status, {}, 1, T0, T0)  # type: ignore[arg-type]


def test_a_firing_match_within_the_period_is_held_and_the_period_ends_exactly() -> None:
    crule = make(type="frequency", num_events=1, timeframe="1m", realert="1m")
    state: dict[str, Any] = {}
    assert hold_realerted(crule, state, [fired()], T0) == ([fired()], 0)
    assert state[REALERT_UNTIL] == T0 + 60
    assert hold_realerted(crule, state, [fired(), fired()], T0 + 59.999) == ([], 2)
    assert hold_realerted(crule, state, [fired()], T0 + 60) == ([fired()], 0)
    assert state[REALERT_UNTIL] == T0 + 120


def test_a_resolve_passes_and_ends_the_period() -> None:
    crule = make(type="frequency", num_events=1, timeframe="1m", realert="1h")
    state: dict[str, Any] = {}
    hold_realerted(crule, state, [fired()], T0)
    assert hold_realerted(crule, state, [fired("resolved")], T0 + 1) == ([fired("resolved")], 0)
    assert REALERT_UNTIL not in state
    # The policy sends the next firing alert at once after a resolve: so does the hold.
    assert hold_realerted(crule, state, [fired()], T0 + 2) == ([fired()], 0)


def test_a_silenced_match_passes_without_starting_a_period() -> None:
    crule = make(type="frequency", num_events=1, timeframe="1m", realert="1h")
    state: dict[str, Any] = {}
    asked: list[tuple[str, str, float]] = []

    def silenced(rule: str, key: str, now: float) -> bool:
        asked.append((rule, key, now))
        return True

    assert hold_realerted(crule, state, [fired(), fired()], T0, silenced) == ([fired()] * 2, 0)
    assert state == {}
    assert asked == [("r", "k", T0), ("r", "k", T0)]


def test_realert_zero_holds_nothing() -> None:
    crule = make(type="frequency", num_events=1, timeframe="1m", realert={"minutes": 0})
    state: dict[str, Any] = {}
    assert hold_realerted(crule, state, [fired()] * 3, T0) == ([fired()] * 3, 0)
    assert state == {}


def test_a_running_period_keeps_an_otherwise_idle_state() -> None:
    # flatline with forget_keys empties its state when it fires: only the period is left.
    crule = make(type="flatline", threshold=1, timeframe="1m", forget_keys=True, realert="1m")
    state: dict[str, Any] = {}
    hold_realerted(crule, state, [fired()], T0)
    assert state == {REALERT_UNTIL: T0 + 60}
    assert not is_idle(crule, state, T0 + 59)
    assert is_idle(crule, state, T0 + 60)


def burst_rule(realert: str) -> Rule:
    return Rule.model_validate(
        {
            "name": "burst",
            "type": "frequency",
            "num_events": 2,
            "timeframe": "1h",
            "query_key": "service.name",
            "realert": realert,
            "resolve": False,
            "filter": [{"term": {"log.level": "error"}}],
        }
    )


def items(count: int, start: int) -> list[Item]:
    return [("burst", "user-service", 1, ev(start + i)) for i in range(count)]


def test_the_detector_holds_back_within_the_period_and_keeps_it_in_the_table() -> None:
    detector = Detector([burst_rule("1m")], Settings(allowed_lateness_s=0))
    table: dict[bytes, bytes] = {}
    cache = StateCache()
    now = T0 + 10
    first = evaluate_items(detector, cache, table, items(6, 0), now)
    assert [(a.rule, a.count, a.created()) for a in first] == [("burst", 2, alert_clock(now))]
    assert detector.held == 2
    stored = json.loads(table[f"burst{SEP}user-service".encode()])
    assert stored[REALERT_UNTIL] == alert_clock(now) + 60
    # A restarted worker reads the period back: still held until it ends.
    assert evaluate_items(detector, StateCache(), table, items(2, 6), now + 59) == []
    later = evaluate_items(detector, StateCache(), table, items(2, 8), now + 60)
    assert [a.created() for a in later] == [alert_clock(now + 60)]
    assert detector.held == 3


class _NoHold(Detector):
    """A detector that forwards every firing match (no realert hold)."""

    def _hold(
        self, crule: CompiledRule, state: State, matches: list[Match], clock: float
    ) -> list[Match]:
        return matches


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["1s", "10s", "1m"]),
    st.lists(st.tuples(st.integers(0, 90_000), st.integers(0, 3_000)), min_size=1, max_size=25),
)
def test_holding_back_changes_no_page(realert: str, bursts: list[tuple[int, int]]) -> None:
    """Bursts at arbitrary times, each decided by notify after its own delay: the alerts
    sent are the same with and without the hold, and every alert the detect stage
    forwards is one the policy sends."""
    rule = burst_rule(realert)

    def run(hold: bool) -> list[str]:
        detector = (Detector if hold else _NoHold)([rule], Settings(allowed_lateness_s=0))
        table: dict[bytes, bytes] = {}
        cache = StateCache()
        notify_state: dict[str, Any] | None = None
        sent: list[str] = []
        now = T0 + 0.0005
        for n, (gap, delay) in enumerate(bursts):
            now += gap / 1000
            alerts = evaluate_items(detector, cache, table, items(2, 2 * n), now)
            for alert in alerts:
                decision = decide(
                    alert, rule, notify_state, (), now + delay / 1000, alert.created()
                )
                notify_state = decision.state
                assert decision.action == "send" or not hold
                if decision.action == "send":
                    sent.append(alert.created_at)
        return sent

    assert run(hold=True) == run(hold=False)


def test_the_policy_judges_realert_on_the_creation_time_and_silences_on_now() -> None:
    rule = burst_rule("1m")

    def alert(created: str) -> Alert:
        return Alert(
            id=created,
            rule="burst",
            key="k",
            dedup_key="burst.k",
            status="firing",
            severity="error",
            count=2,
            first_event_time=created,
            last_event_time=created,
            created_at=created,
        )

    first = decide(alert("2027-01-15T08:00:00.000Z"), rule, None, (), T0 + 500, T0)
    assert (first.action, first.state["until"]) == ("send", T0 + 60)
    # Handled long after (notify catching up), yet created within the period: suppressed.
    within = decide(alert("2027-01-15T08:00:59.999Z"), rule, first.state, (), T0 + 500, T0 + 59.999)
    assert within.action == "suppressed"
    assert decide(alert("x"), rule, first.state, (), T0 + 500, T0 + 60).action == "send"
    silence = {"id": "s", "rule": "burst", "key": None, "until": T0 + 400}
    assert decide(alert("x"), rule, first.state, [silence], T0 + 500, T0 + 60).action == "send"
    assert decide(alert("x"), rule, first.state, [silence], T0 + 399, T0 + 60).action == "silenced"
