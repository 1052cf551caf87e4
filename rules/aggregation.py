"""ElastAlert2's ``aggregation``: the matches of a period sent as one alert with a summary.

A match opens a group for its rule and ``aggregation_key`` value (compound keys joined
with ``", "``; without the option, one group per rule, as in ElastAlert2). The group
closes ``aggregation`` seconds after the first match's event time
(``aggregate_by_match_time``) or its creation time; the matches that arrived meanwhile
become one alert: the first match's fields, ``count`` the sum of the counts,
``extra.num_matches``, and with ``summary_table_fields`` ``extra.summary_table``, rows
``[value, …, count]`` in the order values were first seen. Pure functions shared by replays
(:func:`aggregate`) and the stream's notify stage (:func:`join` on a durable table).

One incident per group identity (the rule and its ``aggregation_key`` value): a group's
alert carries that identity (``key`` the value, ``"all"`` without the option;
``dedup_key`` from it), not its first match's, so every group of the identity updates the
same PagerDuty incident and Alertmanager alert. For rules whose alerts resolve, the
:class:`Incident` remembers the keys that fired into sent group alerts; a key's resolve
removes it, and the last one sends the resolve of the group alert last sent (same
identity and labels). A resolve of a key whose firing match waits in the open group is
held there and applied right after the group's alert (firing before resolved); the key
firing again into that group drops it. ElastAlert2 keys an aggregated alert by its first
match and has no resolves.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bitacora.durations import parse_timestamp
from bitacora.fields import lookup
from bitacora.partitions import partition_for
from bitacora.rules.alerts import Alert, dedup_key
from bitacora.rules.fields import norm
from bitacora.rules.model import Rule
from bitacora.rules.notify.policy import RESOLVING_TYPES


def aggregation_key(alert: Alert, rule: Rule) -> str:
    """The group of ``alert``: its ``aggregation_key`` values, or the rule alone."""
    fields = rule.aggregation_key
    if fields is None:
        return ""
    names = [fields] if isinstance(fields, str) else fields
    values = [lookup(alert.event, name) for name in names]
    return ", ".join("None" if value is None else norm(value) for value in values)


def group_prefix(rule_name: str) -> str:
    """What every group key of the rule ``rule_name`` starts with."""
    return f"{rule_name}\x1f"


def group_key(alert: Alert, rule: Rule) -> str:
    """The group's identity across rules: what the stream keys aggregated alerts by."""
    return group_prefix(rule.name) + aggregation_key(alert, rule)


def aggregates(alert: Alert, rule: Rule) -> bool:
    """Whether ``alert`` joins a group instead of being sent alone."""
    return rule.aggregation is not None and alert.status == "firing"


def route_key(alert: Alert, rule: Rule | None) -> bytes:
    """The Kafka key of ``alert`` on the alerts topic: the rule's name for every alert of a
    rule with ``aggregation``, else the alert's ``dedup_key``.

    A group spans query keys (``aggregation_key`` need not be ``query_key``) and a query key
    spans groups, so one notify worker must hold all of such a rule: its groups, the realert
    state of its keys, and its resolves, in order. Alerts are few; spreading one rule's
    alerts over workers is not worth split state.
    """
    if rule is not None and rule.aggregation is not None:
        return rule.name.encode()
    return alert.dedup_key.encode()


def group_partitioner(partitions: int) -> Callable[[bytes], int]:
    """The changelog partition of a group key ``rule␟value``: its rule's alerts partition."""
    return lambda key: partition_for(key.partition(b"\x1f")[0], partitions)


def state_partitioner(
    rules: Callable[[], Mapping[str, Rule]], partitions: int
) -> Callable[[bytes], int]:
    """The alerts partition of a notify-state key (an alert's ``dedup_key``, ``rule`` or
    ``rule.key``): the rule's own when the rule aggregates (:func:`route_key`), else the
    key's. The longest rule name that prefixes the key wins; ``rules`` is read at each call
    (reloads replace it)."""

    def partition(key: bytes) -> int:
        text = key.decode("utf-8", "replace")
        known = rules()
        cut = len(text)
        while cut > 0:
            rule = known.get(text[:cut])
            if rule is not None:
                if rule.aggregation is not None:
                    return partition_for(text[:cut].encode(), partitions)
                break
            cut = text.rfind(".", 0, cut)
        return partition_for(key, partitions)

    return partition


@dataclass(frozen=True)
class Incident:
    """What one group identity (rule and ``aggregation_key`` value) holds: the open group
    (``until`` it closes, its firing matches and the resolves held for them, in arrival
    order; ``until`` None when none is open), the keys that fired into group alerts sent
    and have not resolved since (``firing``), and the last group alert sent (``sent``:
    what destinations hold as firing, re-sent to Alertmanager and resolved as such)."""

    until: float | None = None
    members: tuple[Alert, ...] = ()
    firing: tuple[str, ...] = ()
    sent: Alert | None = None

    def finished(self) -> bool:
        """Nothing open and nothing firing: the record can go."""
        return self.until is None and not self.firing


def resolving(rule: Rule) -> bool:
    """Whether the rule's alerts resolve (its incidents track firing keys)."""
    return rule.resolve and rule.type in RESOLVING_TYPES


def join(
    known: Incident | None, alert: Alert, rule: Rule, clock: float
) -> tuple[list[Alert], Incident]:
    """Add the firing ``alert`` (created at ``clock``) to its group.

    Returns what the previous group sends (:func:`closing`) when ``alert`` starts after that
    group closed (nothing otherwise), and the incident with the group now open. A resolve
    of ``alert``'s key held in the open group is dropped: the key fires again.
    """
    assert rule.aggregation is not None
    start = parse_timestamp(alert.last_event_time) if rule.aggregate_by_match_time else clock
    known = known or Incident()
    if known.until is not None and start < known.until:
        kept = [a for a in known.members if a.status == "firing" or a.dedup_key != alert.dedup_key]
        return [], replace(known, members=(*kept, alert))
    closed, known = closing(known, rule)
    return closed, replace(known, until=start + rule.aggregation, members=(alert,))


def resolve(known: Incident, notice: Alert) -> tuple[list[Alert], Incident, bool]:
    """Apply a key's resolve ``notice`` to an incident of its rule.

    If the open group holds a firing match of the key, the notice is held there (applied
    after the group's alert, :func:`closing`); else if the key fired into the sent group
    alert, it no longer does, and the last such key resolves the incident: its resolve
    goes out. Returns what to send, the incident, and whether the notice concerned it.
    """
    key = notice.dedup_key
    if any(a.status == "firing" and a.dedup_key == key for a in known.members):
        if any(a.status != "firing" and a.dedup_key == key for a in known.members):
            return [], known, True  # already held (redelivered)
        return [], replace(known, members=(*known.members, notice)), True
    if key not in known.firing:
        return [], known, False
    firing = tuple(k for k in known.firing if k != key)
    if firing or known.sent is None:
        return [], replace(known, firing=firing), True
    return [resolved(known.sent, notice)], replace(known, firing=(), sent=None), True


def closing(known: Incident, rule: Rule) -> tuple[list[Alert], Incident]:
    """Close the open group (if any): its alert, then, when every key that fired into the
    incident has resolved (held resolves included), the incident's resolve."""
    firing = [a for a in known.members if a.status == "firing"]
    if known.until is None or not firing:
        return [], replace(known, until=None, members=())
    alert = combine(firing, rule)
    if not resolving(rule):
        return [alert], Incident()
    keys = dict.fromkeys([*known.firing, *(a.dedup_key for a in firing)])
    for held in known.members:
        if held.status != "firing":
            keys.pop(held.dedup_key, None)
    if keys:
        return [alert], Incident(firing=tuple(keys), sent=alert)
    last = next(a for a in reversed(known.members) if a.status != "firing")
    return [alert, resolved(alert, last)], Incident()


def resolved(sent: Alert, notice: Alert) -> Alert:
    """The resolve of the group alert ``sent`` (its identity: key, dedup key, labels),
    at the time of the key's resolve ``notice`` that ended it."""
    digest = hashlib.sha1((sent.id + notice.id).encode(), usedforsecurity=False).hexdigest()[:24]
    return sent.model_copy(
        update={
            "id": digest,
            "status": "resolved",
            "created_at": notice.created_at,
            "last_event_time": max(sent.last_event_time, notice.last_event_time),
        }
    )


def summary_table(alerts: list[Alert], fields: list[str]) -> list[list[Any]]:
    """Rows ``[value of each field, …, matches]`` in the order the values were first seen,
    as ElastAlert2's ascii and markdown tables list them."""
    counts: Counter[tuple[Any, ...]] = Counter()
    for alert in alerts:
        counts[tuple(lookup(alert.event, name) for name in fields)] += 1
    return [[*values, count] for values, count in counts.items()]


def combine(alerts: list[Alert], rule: Rule) -> Alert:
    """One alert for a closed group."""
    first = alerts[0]
    extra = dict(first.extra)
    extra["num_matches"] = len(alerts)
    if rule.summary_table_fields:
        extra["summary_table"] = summary_table(alerts, rule.summary_table_fields)
    digest = hashlib.sha1(
        "".join(alert.id for alert in alerts).encode(), usedforsecurity=False
    ).hexdigest()[:24]
    samples = [alert.event for alert in alerts][: max(rule.sample_size, 1)]
    key = aggregation_key(first, rule) or "all"
    return first.model_copy(
        update={
            "id": digest,
            "key": key,
            "dedup_key": dedup_key(rule.name, key),
            "count": sum(alert.count for alert in alerts),
            "last_event_time": max(alert.last_event_time for alert in alerts),
            "samples": samples,
            "extra": extra,
        }
    )


def aggregate(
    timed: Iterable[tuple[float, Alert]], rules: dict[str, Rule], final: float
) -> list[Alert]:
    """Group ``(creation time, alert)`` pairs of rules with ``aggregation``; others pass.

    A resolve of an aggregating rule goes to its incidents (:func:`resolve`); one that
    concerns none passes. Groups still open at ``final`` are closed there (the end of a
    replay).
    """
    out: list[tuple[float, Alert]] = []
    incidents: dict[tuple[str, str], Incident] = {}
    for clock, alert in timed:
        rule = rules[alert.rule]
        if rule.aggregation is not None and alert.status == "resolved":
            concerned = False
            for ident, known in list(incidents.items()):
                if ident[0] == rule.name:
                    sent, incidents[ident], hit = resolve(known, alert)
                    out.extend((clock, a) for a in sent)
                    concerned = concerned or hit
            if concerned:
                continue
        if not aggregates(alert, rule):
            out.append((clock, alert))
            continue
        ident = (rule.name, aggregation_key(alert, rule))
        before = incidents.get(ident)
        closed, incidents[ident] = join(before, alert, rule, clock)
        if before is not None and before.until is not None:
            out.extend((before.until, sent) for sent in closed)
    for (name, _), known in incidents.items():
        if known.until is not None:
            closed, _ = closing(known, rules[name])
            out.extend((min(known.until, final), sent) for sent in closed)
    out.sort(key=lambda pair: pair[0])  # stable: a group's resolve stays after its alert
    return [alert for _, alert in out]
