"""ElastAlert2's ``aggregation``: the matches of a period sent as one alert with a summary.

A match opens a group for its rule and ``aggregation_key`` value (compound keys joined
with ``", "``; without the option, one group per rule, as in ElastAlert2). The group
closes ``aggregation`` seconds after the first match's event time
(``aggregate_by_match_time``) or its creation time; the matches that arrived meanwhile
become one alert: the first match's fields, ``count`` the sum of the counts,
``extra.num_matches``, and with ``summary_table_fields`` ``extra.summary_table``, rows
``[value, …, count]`` in the order values were first seen. Pure functions shared by replays
(:func:`aggregate`) and the stream's notify stage (:func:`join` on a durable table).

Firing comes before resolved: the resolve notice of a key whose firing match waits in an
open group is held in that group (:func:`holding_group`, :func:`hold`; the one closing last
when several hold the key) and sent right after the group's alert (:func:`closing`). If
the key fires again into that group before it closes, the held resolve is dropped: the
group's alert reports the key firing, and its next resolve ends it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from bitacora.durations import parse_timestamp
from bitacora.fields import lookup
from bitacora.partitions import partition_for
from bitacora.rules.alerts import Alert
from bitacora.rules.fields import norm
from bitacora.rules.model import Rule


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


# An open group: (the time it closes, its firing matches and the resolves held for them,
# in arrival order).
Group = tuple[float, list[Alert]]
GroupId = TypeVar("GroupId")


def join(known: Group | None, alert: Alert, rule: Rule, clock: float) -> tuple[list[Alert], Group]:
    """Add the firing ``alert`` (created at ``clock``) to its group.

    Returns what the previous group sends (:func:`closing`) when ``alert`` starts after that
    group closed (nothing otherwise), and the group now open. A resolve of ``alert``'s key
    held in the open group is dropped: the key fires again.
    """
    assert rule.aggregation is not None
    start = parse_timestamp(alert.last_event_time) if rule.aggregate_by_match_time else clock
    if known is not None and start < known[0]:
        kept = [a for a in known[1] if a.status == "firing" or a.dedup_key != alert.dedup_key]
        return [], (known[0], [*kept, alert])
    closed = closing(known[1], rule) if known is not None else []
    return closed, (start + rule.aggregation, [alert])


def holding_group(groups: Iterable[tuple[GroupId, Group]], resolve: Alert) -> GroupId | None:
    """The open group ``resolve`` waits in: of the ``groups`` holding a firing match of its
    key, the one closing last; None when none does (the resolve goes out at once)."""
    found: tuple[float, GroupId] | None = None
    for ident, (until, members) in groups:
        holds = any(a.status == "firing" and a.dedup_key == resolve.dedup_key for a in members)
        if holds and (found is None or until > found[0]):
            found = (until, ident)
    return None if found is None else found[1]


def hold(group: Group, resolve: Alert) -> Group:
    """``group`` with ``resolve`` held in it (sent after the group's alert)."""
    return group[0], [*group[1], resolve]


def closing(members: list[Alert], rule: Rule) -> list[Alert]:
    """What a closed group sends, in order: one alert for its firing matches, then the
    resolves held in it."""
    firing = [a for a in members if a.status == "firing"]
    return [combine(firing, rule), *(a for a in members if a.status != "firing")]


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
    return first.model_copy(
        update={
            "id": digest,
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

    A resolve waits in the open group holding its key's firing match (:func:`holding_group`).
    Groups still open at ``final`` are closed there (the end of a replay).
    """
    out: list[tuple[float, Alert]] = []
    open_groups: dict[tuple[str, str], Group] = {}
    for clock, alert in timed:
        rule = rules[alert.rule]
        if rule.aggregation is not None and alert.status == "resolved":
            candidates = (
                (ident, group)
                for ident, group in open_groups.items()
                if ident[0] == rule.name and group[0] > clock  # still open at the resolve
            )
            held = holding_group(candidates, alert)
            if held is not None:
                open_groups[held] = hold(open_groups[held], alert)
                continue
        if not aggregates(alert, rule):
            out.append((clock, alert))
            continue
        group = (rule.name, aggregation_key(alert, rule))
        known = open_groups.get(group)
        closed, open_groups[group] = join(known, alert, rule, clock)
        if known is not None:
            out.extend((known[0], sent) for sent in closed)
    for (name, _), (until, members) in open_groups.items():
        out.extend((min(until, final), sent) for sent in closing(members, rules[name]))
    out.sort(key=lambda pair: pair[0])  # stable: a group's resolves stay after its alert
    return [alert for _, alert in out]
