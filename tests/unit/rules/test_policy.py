"""Notify policy: dedup, realert, exponential_realert (ElastAlert2), silences, resolves."""

from __future__ import annotations

from typing import Any

from bitacora.rules.alerts import Alert, build_alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.policy import decide, next_alert_time, resend_state
from bitacora.rules.types import Match
from tests.unit.rules.util import T0


def rule(**options: Any) -> Rule:
    base: dict[str, Any] = {"name": "r", "type": "any", "realert": "10m"}
    base.update(options)
    return Rule.model_validate(base)


def alert(key: str = "all", status: str = "firing", at: float = T0) -> Alert:
    match = Match("r", key, status, {}, 1, at, at)  # type: ignore[arg-type]
    return build_alert(match, rule(), "http://dash", now=at)


class Notifications:
    """Runs decide() like the notify agent, recording what was sent."""

    def __init__(self, r: Rule, silences: list[dict[str, Any]] | None = None) -> None:
        self.rule = r
        self.silences = silences or []
        self.state: dict[str, dict[str, Any]] = {}
        self.sent: list[tuple[float, str, str]] = []

    def offer(self, at: float, key: str = "all", status: str = "firing") -> str:
        a = alert(key, status, T0 + at)
        decision = decide(a, self.rule, self.state.get(a.dedup_key), self.silences, T0 + at)
        self.state[a.dedup_key] = decision.state
        if decision.action == "send":
            self.sent.append((at, key, status))
        return decision.action


def test_one_alert_per_key_per_realert_period() -> None:
    n = Notifications(rule())
    assert n.offer(0) == "send"
    assert n.offer(1) == "suppressed"
    assert n.offer(599.9) == "suppressed"
    assert n.offer(600) == "send"
    assert n.offer(0, key="other") == "send"  # a different key is a different alert
    assert n.sent == [(0, "all", "firing"), (600, "all", "firing"), (0, "other", "firing")]


def test_realert_zero_sends_every_match() -> None:
    n = Notifications(rule(realert=0))
    assert [n.offer(t) for t in (0, 0, 1)] == ["send", "send", "send"]


def test_exponential_realert_doubles_then_caps() -> None:
    r = rule(realert="1m", exponential_realert="5m")
    # ElastAlert2's next_alert_time: alerting again soon after the quiet period doubles it.
    assert next_alert_time(r, None, 0) == (60, 0)
    assert next_alert_time(r, {"until": 60, "exp": 0}, 60) == (60 + 120, 1)
    assert next_alert_time(r, {"until": 180, "exp": 1}, 180) == (180 + 240, 2)
    assert next_alert_time(r, {"until": 420, "exp": 2}, 420) == (420 + 300, 2)  # capped at 5m
    # A long calm brings the exponent back down.
    assert next_alert_time(r, {"until": 420, "exp": 2}, 420 + 10_000) == (10_420 + 60, 0)
    n = Notifications(r)
    sends = [t for t in range(0, 1200, 10) if n.offer(t) == "send"]
    assert sends == [0, 60, 180, 420, 720, 1020]


def test_silence_by_rule_and_by_key_until_expiry() -> None:
    silences = [{"id": "s1", "rule": "r", "key": "a", "until": T0 + 100, "comment": "deploy"}]
    n = Notifications(rule(realert=0), silences)
    assert n.offer(0, key="a") == "silenced"
    assert n.offer(0, key="b") == "send"
    assert n.offer(100, key="a") == "send"  # expired exactly at `until`
    n2 = Notifications(rule(realert=0), [{"id": "s2", "rule": "r", "key": None, "until": T0 + 50}])
    assert n2.offer(10, key="x") == "silenced"
    assert n2.offer(10, key="y") == "silenced"
    n3 = Notifications(
        rule(realert=0), [{"id": "s3", "rule": "other", "key": None, "until": T0 + 50}]
    )
    assert n3.offer(10) == "send"


def test_resolve_only_after_a_sent_firing_and_ignores_realert_and_silences() -> None:
    n = Notifications(rule())
    assert n.offer(0, status="resolved") == "nothing_to_resolve"
    assert n.offer(1) == "send"
    n.silences.append({"id": "s", "rule": "r", "key": None, "until": T0 + 10**6})
    assert n.offer(2, status="resolved") == "send"
    assert n.offer(3, status="resolved") == "nothing_to_resolve"
    assert n.offer(4) == "silenced"


def test_silenced_firing_is_not_resolved_later() -> None:
    n = Notifications(rule(), [{"id": "s", "rule": "r", "key": None, "until": T0 + 100}])
    assert n.offer(0) == "silenced"
    assert n.offer(1, status="resolved") == "nothing_to_resolve"


def test_firing_after_resolve_is_sent_even_within_realert() -> None:
    n = Notifications(rule())
    n.offer(0)
    n.offer(10, status="resolved")
    assert n.offer(20) == "send"


def test_resend_state_keeps_only_a_delivered_firing_alertmanager_alert() -> None:
    frequency = {"type": "frequency", "num_events": 2, "timeframe": "1m"}
    am = rule(**frequency, alert="alertmanager", alertmanager_hosts=["http://am"])
    first, later = alert(at=T0), alert(at=T0 + 5)
    firing = {"status": "firing", "sent": True}
    kept = resend_state(am, firing, first)
    assert kept == {**firing, "am": first.model_dump()}
    # Not delivered (it joined an aggregation group, or was suppressed): the kept one stays.
    assert resend_state(am, kept, None) == kept
    assert resend_state(am, firing, None) == firing
    assert resend_state(am, kept, later) == {**firing, "am": later.model_dump()}
    resolved = {"status": "resolved", "sent": False, "am": first.model_dump()}
    assert resend_state(am, resolved, None) == {"status": "resolved", "sent": False}
    assert resend_state(rule(**frequency), firing, first) == firing  # no alertmanager
    assert resend_state(am.model_copy(update={"type": "any"}), firing, first) == firing
