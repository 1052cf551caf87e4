"""What 50 rules (``bench.rules_support.make_rules(50)``) cost against 1 rule.

1. ``rules50_cpu_cost`` (the figure with a target): the CPU per event 50 rules add to the
   process running ``bitacora processor --role alerting``, as a share of what the whole
   processor (normalize, index, alerting with 1 rule) spends per event. The added CPU
   comes from the role alone, draining the same normalized events (``make_events``: 4%
   errors) with 1 rule and with 50; the whole processor's from the pipeline runs of item
   2, pair for pair. ``rules50_alerting_role_cost`` (information) is the role's own
   cpu_per_event_50 / cpu_per_event_1 - 1. The CPU is the process's own, read to the
   nanosecond from ``/proc/<pid>/task/*/schedstat`` (``Component.precise_cpu``): a busy
   neighbour on a shared machine delays a process far more than it changes the CPU the
   process spends. The run's backlog is written while the process is paused, the window
   ends where its work ended, and the CPU it spends anyway (timers, polls, rule ticks;
   measured idle just before) is taken off over the window's length, so a drain the host
   slows down is not charged with more of it (``bench.rules_drains``). Each run drains
   ``bench.run.Size.alert_cpu_events`` events: over a CPU-second even with 1 rule.
2. ``rules50_throughput_cost`` (information, no target): the whole processor (normalize,
   index and alerting, one process per role as ``bitacora run`` starts them, CPU summed)
   drains the same raw records into OpenSearch with 1 rule and with 50;
   1 - (events per CPU-second with 50) / (with 1). Normalize and index carry most of its
   CPU and therefore most of its noise: a run the host disturbs moves it by tens of points.

Both are measured over ``ROUNDS`` pairs of runs (1 rule, 50 rules); each figure is the
median over the pairs with the lowest and highest pair beside it. The two alerting roles
of a pair drain at the same time (``simultaneous_pairs``): what the host's load does to
the CPU a process spends (shared caches, a hypervisor's steal) then falls on both sides
alike, where in runs one after the other it moved single sides by up to 7%. The pipelines
of a pair run one after the other (three processes each plus OpenSearch would not fit
twice on the cores), alternating which runs first (1 50, 50 1, 1 50), so a drift in the
machine's load falls on both sides of a pair. Each run first drains a warm-up share (2%)
of the same data and waits until its processes are idle, so start-up and the
consumer-group joins stay out of the window. A run is over when the alerting role
committed everything (both its stages: normalized events and the keyed records between
them) and, for the pipeline, every document is searchable; the pipeline's window spans
producing the rest until then.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable, Sequence

from bench.baselines import Timing
from bench.results import Row
from bench.rules_drains import pipeline_drain, rules_drain
from bitacora.settings import Settings

# Pairs of (1 rule, 50 rules) runs per bench run: the machine is shared, and a run the host
# disturbs must not decide the result.
ROUNDS = 3
Pair = tuple[Timing, Timing]
# Below this many events a run is a smoke run: one pair, both sides at once.
SMOKE_EVENTS = 10_000


async def pairs(
    drain: Callable[[Settings, int, int], Awaitable[Timing]], settings: Settings, events: int
) -> list[Pair]:
    """(1 rule, 50 rules) side by side, ``ROUNDS`` times, alternating which runs first
    (1 50, 50 1, 1 50): a drift in the machine's load falls on both sides of a pair alike."""
    if events < SMOKE_EVENTS:  # smoke: both at once (the costs below are per CPU-second)
        one, fifty = await asyncio.gather(drain(settings, events, 1), drain(settings, events, 50))
        return [(one, fifty)]
    out = []
    for round_ in range(ROUNDS):
        if round_ % 2:
            fifty = await drain(settings, events, 50)
            one = await drain(settings, events, 1)
        else:
            one = await drain(settings, events, 1)
            fifty = await drain(settings, events, 50)
        out.append((one, fifty))
    return out


Drain = Callable[[Settings, int, int, asyncio.Barrier], Awaitable[Timing]]


async def simultaneous_pairs(drain: Drain, settings: Settings, events: int) -> list[Pair]:
    """(1 rule, 50 rules) ``ROUNDS`` times (once for a smoke run), the two sides of a pair
    draining at the same time: ``drain`` gets a barrier both sides meet at (their backlogs
    are written while both are paused, and both resume at once), so a load the host puts on
    the machine meanwhile falls on both alike."""
    out = []
    for _ in range(ROUNDS if events >= SMOKE_EVENTS else 1):
        together = asyncio.Barrier(2)
        one, fifty = await asyncio.gather(
            drain(settings, events, 1, together), drain(settings, events, 50, together)
        )
        out.append((one, fifty))
    return out


def total(timings: Sequence[Timing]) -> Timing:
    """The timings summed (events, wall, CPU, server CPU)."""
    return Timing(
        sum(t.events for t in timings),
        sum(t.wall_s for t in timings),
        sum(t.cpu_s for t in timings),
        sum(t.server_cpu_s for t in timings),
    )


def throughput_cost(pairs: Sequence[Pair], rate: Callable[[Timing], float]) -> list[float]:
    """Per pair, the share of ``rate`` (events per CPU-second, per second…) 50 rules take,
    1 - rate(50) / rate(1); sorted."""
    return sorted(1 - rate(fifty) / rate(one) for one, fifty in pairs)


def cpu_per_event(t: Timing) -> float:
    """CPU seconds per event."""
    return t.cpu_s / t.events if t.events else float("nan")


def cpu_cost(pairs: Sequence[Pair]) -> list[float]:
    """Per pair, the CPU per event 50 rules add, relative to 1 rule:
    cpu_per_event(50) / cpu_per_event(1) - 1; sorted."""
    return sorted(cpu_per_event(fifty) / cpu_per_event(one) - 1 for one, fifty in pairs)


def _with_servers(t: Timing) -> float:
    """Events per CPU-second of the processor, Kafka and OpenSearch together."""
    return t.events / (t.cpu_s + t.server_cpu_s)


def _median_row(
    name: str,
    values: Sequence[float],
    unit: str,
    *,
    baseline: float | None = None,
    target: float | None = None,
) -> Row:
    """A row whose value is the median of ``values``, with the lowest and highest beside it
    (a cost: lower is better against ``target``)."""
    ordered = sorted(values)
    return Row(
        name,
        statistics.median(ordered),
        unit,
        baseline=baseline,
        target=target,
        higher_is_better=False,
        low=ordered[0],
        high=ordered[-1],
        repeats=len(ordered),
    )


def share_of_processor(alone: Sequence[Pair], pipe: Sequence[Pair]) -> list[float]:
    """Per pair, the CPU per event 50 rules add to the alerting role alone (``alone``) over
    the whole processor's CPU per event with 1 rule (``pipe``, the same pair index); sorted."""
    return sorted(
        (cpu_per_event(fifty) - cpu_per_event(one)) / cpu_per_event(whole)
        for (one, fifty), (whole, _) in zip(alone, pipe, strict=True)
    )


def cost_row(alone: Sequence[Pair], pipe: Sequence[Pair]) -> Row:
    """``rules50_cpu_cost``: what 50 rules add, as a share of the whole processor's CPU."""
    return _median_row("rules50_cpu_cost", share_of_processor(alone, pipe), "frac", target=0.10)


def alerting_rows(alone: Sequence[Pair]) -> list[Row]:
    """The alerting role's own CPU per event with 1 and 50 rules (information)."""
    one_us = [1e6 * cpu_per_event(one) for one, _ in alone]
    fifty_us = [1e6 * cpu_per_event(fifty) for _, fifty in alone]
    one, fifty = total([p[0] for p in alone]), total([p[1] for p in alone])
    return [
        _median_row("rules50_alerting_role_cost", cpu_cost(alone), "frac"),
        _median_row("alerting_1rule_cpu_us_per_event", one_us, "µs"),
        _median_row(
            "alerting_50rules_cpu_us_per_event",
            fifty_us,
            "µs",
            baseline=statistics.median(one_us),
        ),
        # The CPU time of the shortest run: the 10 ms tick of the counters is negligible beside it.
        Row("alerting_shortest_run_cpu_s", min(t.cpu_s for p in alone for t in p), "cpu-s"),
        Row("alerting_1rule_events_per_s", one.events_per_s, "ev/s"),
        Row("alerting_50rules_events_per_s", fifty.events_per_s, "ev/s", baseline=one.events_per_s),
        Row("alerting_1rule_events_per_cpu_second", one.events_per_cpu_s, "ev/cpu-s"),
        Row(
            "alerting_50rules_events_per_cpu_second",
            fifty.events_per_cpu_s,
            "ev/cpu-s",
            baseline=one.events_per_cpu_s,
        ),
    ]


def pipeline_rows(pipe: Sequence[Pair]) -> list[Row]:
    """The whole processor's throughput with 1 and 50 rules (information, no target)."""
    one, fifty = total([p[0] for p in pipe]), total([p[1] for p in pipe])
    return [
        Row("pipeline_1rule_events_per_cpu_second", one.events_per_cpu_s, "ev/cpu-s"),
        Row(
            "pipeline_50rules_events_per_cpu_second",
            fifty.events_per_cpu_s,
            "ev/cpu-s",
            baseline=one.events_per_cpu_s,
        ),
        _median_row(
            "rules50_throughput_cost", throughput_cost(pipe, lambda t: t.events_per_cpu_s), "frac"
        ),
        _median_row(
            "rules50_wall_throughput_cost", throughput_cost(pipe, lambda t: t.events_per_s), "frac"
        ),
        # With Kafka's and OpenSearch's CPU in the denominator (NaN on a stack that is not
        # ours): what the rules cost a machine running the whole pipeline.
        _median_row("rules50_stack_throughput_cost", throughput_cost(pipe, _with_servers), "frac"),
        _median_row(
            "rules50_added_cpu_us_per_event",
            [1e6 * (cpu_per_event(fifty) - cpu_per_event(one)) for one, fifty in pipe],
            "µs",
        ),
    ]


async def rules_cost_rows(settings: Settings, pipeline_events: int, cpu_events: int) -> list[Row]:
    """The alerting role's CPU cost of 50 rules (``cpu_events`` per run) and the whole
    processor's throughput cost (``pipeline_events`` per run); a smoke run (both under
    ``SMOKE_EVENTS``) runs every drain once, all at the same time."""
    if max(cpu_events, pipeline_events) < SMOKE_EVENTS:  # smoke: every path once, at once
        alone, pipe = await asyncio.gather(
            simultaneous_pairs(rules_drain, settings, cpu_events),
            pairs(pipeline_drain, settings, pipeline_events),
        )
        return [cost_row(alone, pipe), *alerting_rows(alone), *pipeline_rows(pipe)]
    alone = await simultaneous_pairs(rules_drain, settings, cpu_events)
    pipe = await pairs(pipeline_drain, settings, pipeline_events)
    return [cost_row(alone, pipe), *alerting_rows(alone), *pipeline_rows(pipe)]
