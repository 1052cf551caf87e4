"""Which alerts are sent: dedup per rule and key, realert, exponential_realert, silences.

Pure functions over plain dicts kept in the notify agent's Faust table, keyed by the
alert's ``dedup_key``:

    {"status": "firing"|"resolved", "sent": bool, "until": epoch s, "exp": int,
     "started": first firing alert time, "last_id": alert id}

Realert follows ElastAlert2's ``next_alert_time``: after a sent alert the key is quiet
until its creation time + ``realert`` (the detect stage holds matches back within the same
period, on the same clock: rules.engine.hold_realerted); with ``exponential_realert`` an
alert that fires again soon after the quiet period doubles it (up to
``exponential_realert``), and long calm halves it back.
A resolve notice goes out only if a firing alert was sent for the key, and it ignores
realert and silences (it closes what was opened). Silences are records
``{"id", "rule", "key" (None: every key), "until", "comment", "created_at"}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule

# Rule types whose alerts resolve: their firing Alertmanager alerts are re-sent (``am``).
RESOLVING_TYPES = frozenset({"frequency", "flatline"})

Action = Literal["send", "suppressed", "silenced", "nothing_to_resolve"]


@dataclass(frozen=True)
class Decision:
    """What to do with an alert and the key's state afterwards."""

    action: Action
    state: dict[str, Any]
    silence: Mapping[str, Any] | None = None


def next_alert_time(rule: Rule, state: Mapping[str, Any] | None, now: float) -> tuple[float, int]:
    """ElastAlert2's ``next_alert_time``: the end of the quiet period and its exponent."""
    realert = rule.realert
    if not state or "until" not in state or rule.exponential_realert is None:
        return now + realert, 0
    last_until, exponent = float(state["until"]), int(state.get("exp", 0))
    diff = now - last_until
    if diff < realert * 2**exponent:
        exponent += 1
    else:
        while diff > realert * 2**exponent and exponent > 0:
            diff -= realert * 2**exponent
            exponent -= 1
    wait = realert * 2**exponent
    if wait >= rule.exponential_realert:
        return now + rule.exponential_realert, exponent - 1
    return now + wait, exponent


def active_silence(
    silences: Iterable[Mapping[str, Any]], rule: str, key: str, now: float
) -> Mapping[str, Any] | None:
    """The first unexpired silence covering ``rule`` (and ``key`` when it names one)."""
    for silence in silences:
        if silence.get("rule") != rule or float(silence.get("until", 0)) <= now:
            continue
        if silence.get("key") in (None, "", key):
            return silence
    return None


def decide(
    alert: Alert,
    rule: Rule,
    state: Mapping[str, Any] | None,
    silences: Iterable[Mapping[str, Any]],
    now: float,
    fired_at: float | None = None,
) -> Decision:
    """Decide about one alert given the key's notify ``state`` and the silences.

    Silences are judged at ``now``; realert at ``fired_at``, the alert's creation time
    (``now`` when not given), the clock the detect stage holds matches back on.
    """
    current = dict(state or {})
    if alert.status == "resolved":
        if current.get("status") == "firing" and current.get("sent"):
            current.update(status="resolved", sent=False, last_id=alert.id)
            return Decision("send", current)
        current["status"] = "resolved"
        return Decision("nothing_to_resolve", current)
    silence = active_silence(silences, alert.rule, alert.key, now)
    if silence is not None:
        return Decision("silenced", current, silence)
    clock = now if fired_at is None else fired_at
    if current.get("status") == "firing" and clock < float(current.get("until", 0)):
        return Decision("suppressed", current)
    until, exponent = next_alert_time(rule, current, clock)
    if current.get("status") != "firing" or not current.get("sent"):
        current["started"] = alert.first_event_time
    current.update(status="firing", sent=True, until=until, exp=exponent, last_id=alert.id)
    return Decision("send", current)


def resent(rule: Rule) -> bool:
    """Whether the rule's firing alerts are re-sent to Alertmanager (they resolve)."""
    return "alertmanager" in rule.alert and rule.type in RESOLVING_TYPES


def resend_state(rule: Rule, state: Mapping[str, Any], sent: Alert | None) -> dict[str, Any]:
    """The key's ``state`` with ``am``, the alert the Alertmanager re-send timer repeats
    while the key fires: ``sent`` when given (an alert just delivered to Alertmanager),
    else the one kept. None once the key stops firing, or for rules not re-sent.

    Only a delivered alert is kept: a match joining an aggregation group is not (nothing
    of a group reaches a destination before the group's alert, which is kept instead).
    """
    current = dict(state)
    firing = current.get("status") == "firing" and current.get("sent")
    if not resent(rule) or not firing:
        current.pop("am", None)
    elif sent is not None:
        current["am"] = sent.model_dump()
    return current
