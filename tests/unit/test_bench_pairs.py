"""The rules-cost benchmark's arithmetic: pairs of runs (alternating, or both sides at
once), the cost per pair, and where a drain's work ended."""

from __future__ import annotations

import asyncio

from bench.baselines import Timing
from bench.rules_cost import (
    ROUNDS,
    alerting_rows,
    cost_row,
    cpu_cost,
    pairs,
    simultaneous_pairs,
    throughput_cost,
)
from bench.rules_drains import busy_until, work_cpu
from bitacora.settings import Settings


def test_pairs_alternate_which_side_runs_first_and_the_cost_is_per_pair() -> None:
    order: list[int] = []
    cpu = iter([1.0, 1.2, 1.5, 1.0, 1.0, 1.1])  # CPU seconds in the order the runs happen

    async def drain(settings: Settings, events: int, rules: int) -> Timing:
        order.append(rules)
        return Timing(events, 1.0, next(cpu), 0.0)

    got = asyncio.run(pairs(drain, Settings(), 10_000))
    assert ROUNDS == 3
    assert order == [1, 50, 50, 1, 1, 50]
    assert [(one.cpu_s, fifty.cpu_s) for one, fifty in got] == [
        (1.0, 1.2),
        (1.0, 1.5),
        (1.0, 1.1),
    ]
    # Events per CPU-second lost per pair, sorted: the middle one is the reported cost.
    costs = throughput_cost(got, lambda t: t.events_per_cpu_s)
    assert [round(c, 6) for c in costs] == [
        round(1 - 1 / 1.1, 6),
        round(1 - 1 / 1.2, 6),
        round(1 - 1 / 1.5, 6),
    ]
    # CPU per event 50 rules add, relative to 1 rule, per pair, sorted.
    assert [round(c, 6) for c in cpu_cost(got)] == [0.1, 0.2, 0.5]


def test_smoke_sizes_run_one_pair_at_once() -> None:
    async def drain(settings: Settings, events: int, rules: int) -> Timing:
        return Timing(events, 1.0, float(rules), 0.0)

    [(one, fifty)] = asyncio.run(pairs(drain, Settings(), 100))
    assert (one.cpu_s, fifty.cpu_s) == (1.0, 50.0)


def test_cpu_cost_compares_cpu_per_event_not_totals() -> None:
    # 50 rules: 3 CPU-s for 200 events (15 ms each) against 1 CPU-s for 100 (10 ms each).
    pair = (Timing(100, 5.0, 1.0), Timing(200, 5.0, 3.0))
    assert [round(c, 6) for c in cpu_cost([pair])] == [0.5]


ALONE = [
    (Timing(1000, 1.0, 0.010), Timing(1000, 1.0, 0.012)),
    (Timing(1000, 1.0, 0.010), Timing(1000, 1.0, 0.015)),
    (Timing(1000, 1.0, 0.010), Timing(1000, 1.0, 0.011)),
]


def test_cost_row_is_the_added_cpu_over_the_whole_processor_pair_for_pair() -> None:
    # The whole processor spends 50, 40 and 20 µs per event with 1 rule; 50 rules add 2, 5
    # and 1 µs to the role: 0.04, 0.125 and 0.05 of it.
    pipe = [
        (Timing(1000, 1.0, 0.050), Timing(1000, 1.0, 0.052)),
        (Timing(1000, 1.0, 0.040), Timing(1000, 1.0, 0.045)),
        (Timing(1000, 1.0, 0.020), Timing(1000, 1.0, 0.021)),
    ]
    cost = cost_row(ALONE, pipe)
    assert cost.name == "rules50_cpu_cost"
    assert (round(cost.value, 6), round(cost.low or 0, 6), round(cost.high or 0, 6)) == (
        0.05,
        0.04,
        0.125,
    )
    assert (cost.target, cost.higher_is_better, cost.repeats) == (0.10, False, 3)
    # 0.05 is 0.05 under the target, but the pairs spread over 0.085: another run could fail.
    assert cost.verdict == "INCONCLUSIVE"


def test_alerting_rows_report_the_median_pair_with_its_spread() -> None:
    rows = {row.name: row for row in alerting_rows(ALONE)}
    cost = rows["rules50_alerting_role_cost"]
    assert (round(cost.value, 6), round(cost.low or 0, 6), round(cost.high or 0, 6)) == (
        0.2,
        0.1,
        0.5,
    )
    assert (cost.target, cost.repeats) == (None, 3)
    one_us = rows["alerting_1rule_cpu_us_per_event"]
    assert (round(one_us.value, 6), one_us.target) == (10.0, None)
    assert round(rows["alerting_50rules_cpu_us_per_event"].value, 6) == 12.0
    assert rows["alerting_shortest_run_cpu_s"].value == 0.010


def test_busy_until_drops_the_idle_tail_only() -> None:
    samples = [(0.0, 1.0), (0.25, 1.2), (0.5, 1.21), (0.75, 1.5), (1.0, 1.51), (1.25, 1.52)]
    # The idle interval in the middle stays; the two idle ones at the end go.
    assert busy_until(samples) == (0.75, 1.5)
    # A drain smaller than the threshold still ends no earlier than the first interval.
    assert busy_until([(0.0, 1.0), (0.25, 1.01), (0.5, 1.015)]) == (0.25, 1.01)
    assert busy_until([(0.0, 1.0)]) == (0.0, 1.0)


def test_work_cpu_takes_the_background_over_the_window_off() -> None:
    assert round(work_cpu(2.0, 10.0, 0.03), 9) == 1.7


def test_simultaneous_pairs_start_both_sides_together() -> None:
    events: list[str] = []

    async def drain(
        settings: Settings, count: int, rules: int, together: asyncio.Barrier
    ) -> Timing:
        events.append(f"ready {rules}")
        await together.wait()
        events.append(f"drain {rules}")
        return Timing(count, 1.0, float(rules), 0.0)

    got = asyncio.run(simultaneous_pairs(drain, Settings(), 10_000))
    assert [(one.cpu_s, fifty.cpu_s) for one, fifty in got] == [(1.0, 50.0)] * ROUNDS
    # In every pair both sides are ready before either drains.
    rounds = [sorted(events[i : i + 4]) for i in range(0, len(events), 4)]
    assert [r[:2] for r in rounds] == [["drain 1", "drain 50"]] * ROUNDS
    assert [events[i : i + 2] for i in range(0, len(events), 4)] == [
        ["ready 1", "ready 50"]
    ] * ROUNDS
    assert len(asyncio.run(simultaneous_pairs(drain, Settings(), 100))) == 1
