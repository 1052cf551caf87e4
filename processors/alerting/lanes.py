"""Lanes: the alerts the notify agent takes together, handled concurrently where their
order does not matter and in arrival order where it does.

An alert of a rule with ``aggregation`` shares its rule's lane (its groups fill in arrival
order, and a group's first member names it); any other alert has its ``dedup_key``'s lane
(a key's alerts are decided in order: firing before resolved). Lanes run concurrently, so a
destination that stalls on one key's alert does not hold back the other keys' pages taken
with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule

T = TypeVar("T")


def lanes(alerts: Sequence[Alert], rules: Mapping[str, Rule]) -> list[list[int]]:
    """The positions of ``alerts`` grouped by lane, each lane in arrival order, the lanes
    in the order of their first alert."""
    by_lane: dict[tuple[str, str], list[int]] = {}
    for position, alert in enumerate(alerts):
        rule = rules.get(alert.rule)
        lane = (
            ("rule", alert.rule)
            if rule is not None and rule.aggregation is not None
            else ("key", alert.dedup_key)
        )
        by_lane.setdefault(lane, []).append(position)
    return list(by_lane.values())


async def in_lanes(
    alerts: Sequence[Alert],
    rules: Mapping[str, Rule],
    handle: Callable[[Alert], Awaitable[T]],
) -> list[T]:
    """``handle`` every alert, lanes concurrently, each lane in order; the results in the
    alerts' order. The first failure cancels the other lanes and is raised as it is."""
    results: dict[int, T] = {}

    async def lane(positions: list[int]) -> None:
        for position in positions:
            results[position] = await handle(alerts[position])

    try:
        async with asyncio.TaskGroup() as group:
            for positions in lanes(alerts, rules):
                group.create_task(lane(positions))
    except* Exception as failed:
        raise failed.exceptions[0] from None
    return [results[position] for position in range(len(alerts))]
