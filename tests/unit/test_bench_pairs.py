"""The rules-cost benchmark's pairing: runs side by side, alternating, and the median pair."""

from __future__ import annotations

import asyncio

from bench.alert_bench import ROUNDS, _cost, _pairs
from bench.baselines import Timing
from bitacora.settings import Settings


def test_pairs_alternate_which_side_runs_first_and_the_cost_is_per_pair() -> None:
    order: list[int] = []
    cpu = iter([1.0, 1.2, 1.5, 1.0, 1.0, 1.1])  # CPU seconds in the order the runs happen

    async def drain(settings: Settings, events: int, rules: int) -> Timing:
        order.append(rules)
        return Timing(events, 1.0, next(cpu), 0.0)

    pairs = asyncio.run(_pairs(drain, Settings(), 10_000))
    assert ROUNDS == 3
    assert order == [1, 50, 50, 1, 1, 50]
    assert [(one.cpu_s, fifty.cpu_s) for one, fifty in pairs] == [
        (1.0, 1.2),
        (1.0, 1.5),
        (1.0, 1.1),
    ]
    # Events per CPU-second lost per pair, sorted: the middle one is the reported cost.
    costs = _cost(pairs, lambda t: t.events_per_cpu_s)
    assert [round(c, 6) for c in costs] == [
        round(1 - 1 / 1.1, 6),
        round(1 - 1 / 1.2, 6),
        round(1 - 1 / 1.5, 6),
    ]


def test_smoke_sizes_run_one_pair_at_once() -> None:
    async def drain(settings: Settings, events: int, rules: int) -> Timing:
        return Timing(events, 1.0, float(rules), 0.0)

    [(one, fifty)] = asyncio.run(_pairs(drain, Settings(), 100))
    assert (one.cpu_s, fifty.cpu_s) == (1.0, 50.0)
