"""ElastAlert2's ``aggregation``: the matches of a period sent as one alert with a summary.

A match opens a group for its rule and ``aggregation_key`` value (compound keys joined
with ``", "``; without the option, one group per rule, as in ElastAlert2). The group
closes ``aggregation`` seconds after the first match's event time
(``aggregate_by_match_time``) or its creation time; the matches that arrived meanwhile
become one alert: the first match's fields, ``count`` the sum of the counts,
``extra.num_matches``, and with ``summary_table_fields`` ``extra.summary_table``, rows
``[value, …, count]`` in the order values were first seen. Pure functions shared by replays
(:func:`aggregate`) and the stream's notify stage (:func:`join` on a durable table).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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


def group_key(alert: Alert, rule: Rule) -> str:
    """The group's identity across rules: what the stream keys aggregated alerts by."""
    return f"{rule.name}\x1f{aggregation_key(alert, rule)}"


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


# An open group: (the time it closes, its alerts in arrival order).
Group = tuple[float, list[Alert]]


def join(known: Group | None, alert: Alert, rule: Rule, clock: float) -> tuple[Alert | None, Group]:
    """Add ``alert`` (created at ``clock``) to its group.

    Returns the combined alert of the previous group when ``alert`` starts after that group
    closed (None otherwise), and the group now open.
    """
    assert rule.aggregation is not None
    start = parse_timestamp(alert.last_event_time) if rule.aggregate_by_match_time else clock
    if known is not None and start < known[0]:
        return None, (known[0], [*known[1], alert])
    closed = combine(known[1], rule) if known is not None else None
    return closed, (start + rule.aggregation, [alert])


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

    Groups still open at ``final`` are closed there (the end of a replay).
    """
    out: list[tuple[float, Alert]] = []
    open_groups: dict[tuple[str, str], Group] = {}
    for clock, alert in timed:
        rule = rules[alert.rule]
        if not aggregates(alert, rule):
            out.append((clock, alert))
            continue
        group = (rule.name, aggregation_key(alert, rule))
        known = open_groups.get(group)
        closed, open_groups[group] = join(known, alert, rule, clock)
        if closed is not None and known is not None:
            out.append((known[0], closed))
    for (name, _), (until, members) in open_groups.items():
        out.append((min(until, final), combine(members, rules[name])))
    out.sort(key=lambda pair: pair[0])
    return [alert for _, alert in out]
