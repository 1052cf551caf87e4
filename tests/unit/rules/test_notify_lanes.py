"""The notify agent's lanes (processors.alerting.lanes): which alerts taken together may
be handled side by side, and that each lane keeps its order while another one waits."""

from __future__ import annotations

import asyncio

import pytest

from bitacora.processors.alerting.lanes import in_lanes, lanes
from bitacora.rules.alerts import Alert
from bitacora.rules.loader import parse_rule_text
from tests.unit.rules.test_aggregation_resolves import RULE, _alerts

AGGREGATING = parse_rule_text(RULE)
PLAIN = parse_rule_text(RULE.replace("agg-res", "plain")).model_copy(
    update={"aggregation": None, "aggregation_key": None}
)
RULES = {AGGREGATING.name: AGGREGATING, PLAIN.name: PLAIN}


def _plain(service: str) -> tuple[Alert, Alert]:
    return _alerts(PLAIN, service)


def _grouped(service: str) -> Alert:
    firing, _ = _alerts(AGGREGATING, service)
    return firing


def test_lanes_are_per_key_and_per_aggregating_rule_in_arrival_order() -> None:
    a_fires, a_resolves = _plain("svc-a")
    b_fires, _ = _plain("svc-b")
    alerts = [a_fires, _grouped("svc-c"), b_fires, _grouped("svc-d"), a_resolves]
    unknown = a_fires.model_copy(update={"rule": "gone", "dedup_key": "gone.svc-a"})
    # svc-a's firing and resolve share a lane, in order; both aggregating alerts share
    # their rule's lane though their keys differ; an unknown rule's alert has its key's.
    assert lanes([*alerts, unknown], RULES) == [[0, 4], [1, 3], [2], [5]]
    assert lanes([], RULES) == []


def test_a_stalled_lane_holds_back_only_itself() -> None:
    a_fires, a_resolves = _plain("svc-a")
    b_fires, b_resolves = _plain("svc-b")
    alerts = [a_fires, b_fires, a_resolves, b_resolves]

    async def scenario() -> list[str]:
        stalled = asyncio.Event()
        handled: list[str] = []

        async def handle(alert: Alert) -> str:
            name = f"{alert.key} {alert.status}"
            if alert is a_fires:
                await stalled.wait()  # svc-a's destination hangs
            handled.append(name)
            if alert is b_resolves:
                stalled.set()  # svc-b's lane finished while svc-a's was stalled
            return name

        results = await asyncio.wait_for(in_lanes(alerts, RULES, handle), 10)
        assert handled == [
            "svc-b firing",
            "svc-b resolved",
            "svc-a firing",
            "svc-a resolved",
        ]
        return results

    # The results keep the alerts' order whatever order the lanes finished in.
    assert asyncio.run(scenario()) == [
        "svc-a firing",
        "svc-b firing",
        "svc-a resolved",
        "svc-b resolved",
    ]


def test_a_failing_lane_cancels_the_others_and_its_error_is_raised() -> None:
    a_fires, _ = _plain("svc-a")
    b_fires, _ = _plain("svc-b")
    cancelled: list[str] = []

    async def handle(alert: Alert) -> None:
        if alert is a_fires:
            await asyncio.sleep(0)
            raise RuntimeError("destination bug")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(alert.key)
            raise

    with pytest.raises(RuntimeError, match="destination bug"):
        asyncio.run(asyncio.wait_for(in_lanes([a_fires, b_fires], RULES, handle), 10))
    assert cancelled == ["svc-b"]
