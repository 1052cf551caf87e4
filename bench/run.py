"""``python -m bench.run [--smoke] [--only NAME] [--repeat N] [--markdown]``: run the
benchmarks, print a table, write ``bench/results/latest.json``.

Every benchmark starts its own components as subprocesses with unique topics, consumer
groups, streams and ports, against the local stack (``bitacora stack up``). A benchmark
that fails records NaN for its keys and the run exits non-zero, so a broken part shows.

Each benchmark measures its subject and its baseline back to back (A, B); the run repeats
them ``--repeat`` times (default 3, the smoke run 1), round-robin over the benchmarks, so
the repetitions interleave (A, B, A, B, …) and a drift in the machine's load falls on both.
Every figure is the median of its repetitions with the lowest and highest beside it
(``<key>_min``/``<key>_max`` in latest.json). The alerting benchmark pairs its runs itself
(1 rule, 50 rules, alternating; ``bench.rules_cost``) and runs once, as does the paging
comparison with ElastAlert2 2.19 (``bench.ea2_bench``: its bursts are its repetitions),
which the smoke run leaves out (ElastAlert2's polling alone takes longer than the smoke
run's budget). Before the first benchmark, OpenSearch's JVM is warmed until its JIT
compiler has settled (``bench.warmup``; ``--no-warmup`` skips it, the smoke run never
warms), so the first repetition measures indexing rather than compilation.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from bench.results import RESULTS_DIR, Row, aggregate, summary_with_spread, table, write_json
from bench.warmup import WarmRound, warm_opensearch
from bitacora.settings import Settings


@dataclass(frozen=True)
class Size:
    """How much work each benchmark does."""

    collector_events: int
    processor_events: int
    e2e_events: int
    latency_seconds: float
    alert_events: int  # per run of the whole processor with 1 or 50 rules
    alert_cpu_events: int  # per run of the alerting role alone with 1 or 50 rules
    ea2_bursts: int  # error bursts paged by both ElastAlert2 and Bitácora


SMOKE = Size(
    collector_events=4_000,
    processor_events=4_000,
    e2e_events=4_000,
    latency_seconds=3.0,
    alert_events=2_000,
    alert_cpu_events=8_000,  # under bench.rules_cost.SMOKE_EVENTS: one pair, at once
    ea2_bursts=1,  # only with --only ea2: the smoke run leaves it out (NOT_IN_SMOKE)
)
# Sized so each timed window lasts at least ~10 s at the speeds `make bench` last measured
# on 2 cores (bench/results/latest.json: the processor's and the end-to-end rates, the raw
# loader's), so a run's start and its wait for the last refresh stay a small part of it.
FULL = Size(
    collector_events=200_000,
    processor_events=300_000,
    e2e_events=300_000,
    latency_seconds=20.0,
    alert_events=30_000,
    # The alerting role alone spends 5-10 µs of CPU per event here: each run takes 1.3 to
    # 2.5 CPU-seconds over 5-8 s of drain (the 10 ms tick of /proc/<pid>/stat would be
    # under 1% of it; the figure reads schedstat's nanoseconds anyway).
    alert_cpu_events=250_000,
    ea2_bursts=5,  # about 100 s in all, most of it ElastAlert2's polling
)

# The headline keys of latest.json and the row each one comes from.
SUMMARY = {
    "e2e_ratio_vs_raw_bulk": "e2e_ratio_vs_raw_bulk",
    "e2e_ratio_vs_raw_bulk_acked": "e2e_ratio_vs_raw_bulk_acked",
    "collector_ratio_vs_bare_producer": "collector_ratio_vs_bare_producer",
    "events_per_cpu_second": "e2e_events_per_cpu_second",
    "collector_events_per_cpu_second": "collector_events_per_cpu_second",
    "ingest_to_searchable_p99_s": "ingest_to_searchable_p99_s_at_70pct",
    "alert_latency_p99_s": "alert_latency_p99_s",
    "rules50_cpu_cost": "rules50_cpu_cost",
    "rules50_throughput_cost": "rules50_throughput_cost",
    "processor_ratio_vs_raw_bulk": "processor_ratio_vs_raw_bulk",
    "processor_ratio_vs_raw_bulk_acked": "processor_ratio_vs_raw_bulk_acked",
    "processor_events_per_cpu_second": "processor_events_per_cpu_second",
    "e2e_events_per_s": "e2e_events_per_s",
    "e2e_ratio_cpu_ceiling": "e2e_ratio_cpu_ceiling",
    "raw_bulk_events_per_s": "raw_bulk_events_per_s",
    "ingest_to_searchable_p50_s": "ingest_to_searchable_p50_s_at_70pct",
    "alert_latency_p50_s": "alert_latency_p50_s",
    "collector_cpu_s_per_1000_events": "collector_cpu_s_per_1000_events",
    "processor_cpu_s_per_1000_events": "processor_cpu_s_per_1000_events",
    "collector_peak_rss_mib": "collector_peak_rss_mib",
    "collector_otlp_cpu_vs_forward": "collector_otlp_cpu_vs_forward",
    "collector_syslog_cpu_vs_forward": "collector_syslog_cpu_vs_forward",
    "tail_events_per_cpu_second": "tail_events_per_cpu_second",
    "tail_ratio_vs_forward_cpu": "tail_ratio_vs_forward_cpu",
    "processor_peak_rss_mib": "processor_peak_rss_mib",
    "pipeline_cpu_vs_opensearch_cpu": "pipeline_cpu_vs_opensearch_cpu",
    "ea2_paging_latency_p50_s": "ea2_paging_latency_p50_s",
    "bitacora_paging_latency_p50_s": "bitacora_paging_latency_p50_s",
    "ea2_vs_bitacora_paging_latency_p50": "ea2_vs_bitacora_paging_latency_p50",
}

Bench = Callable[[Settings, Size], Awaitable[list[Row]]]


async def _collector(settings: Settings, size: Size) -> list[Row]:
    from bench.collector_bench import bench_collector

    return await bench_collector(settings, size.collector_events)


async def _processor(settings: Settings, size: Size) -> list[Row]:
    from bench.processor_bench import bench_processor

    return await bench_processor(settings, size.processor_events)


async def _e2e(settings: Settings, size: Size) -> list[Row]:
    from bench.e2e_bench import bench_e2e

    return await bench_e2e(settings, size.e2e_events, size.latency_seconds)


async def _alerting(settings: Settings, size: Size) -> list[Row]:
    from bench.alert_bench import bench_alerting

    return await bench_alerting(
        settings, size.alert_events, size.latency_seconds, size.alert_cpu_events
    )


async def _tail(settings: Settings, size: Size) -> list[Row]:
    from bench.tail_bench import bench_tail

    return await bench_tail(settings, size.collector_events)


async def _ea2(settings: Settings, size: Size) -> list[Row]:
    from bench.ea2_bench import bench_ea2

    return await bench_ea2(settings, size.ea2_bursts)


BENCHES: dict[str, Bench] = {
    "collector": _collector,
    "tail": _tail,
    "processor": _processor,
    "e2e": _e2e,
    "alerting": _alerting,
    "ea2": _ea2,
}
# Which summary rows each benchmark owns (NaN when it fails).
OWNS = {
    "collector": [
        "collector_ratio_vs_bare_producer",
        "collector_events_per_cpu_second",
        "collector_cpu_s_per_1000_events",
        "collector_peak_rss_mib",
        "collector_otlp_cpu_vs_forward",
        "collector_syslog_cpu_vs_forward",
    ],
    "processor": [
        "processor_ratio_vs_raw_bulk",
        "processor_events_per_cpu_second",
        "processor_cpu_s_per_1000_events",
        "processor_peak_rss_mib",
        "raw_bulk_events_per_s",
    ],
    "e2e": [
        "e2e_ratio_vs_raw_bulk",
        "e2e_events_per_cpu_second",
        "e2e_events_per_s",
        "ingest_to_searchable_p99_s_at_70pct",
        "ingest_to_searchable_p50_s_at_70pct",
        "pipeline_cpu_vs_opensearch_cpu",
    ],
    "alerting": [
        "alert_latency_p99_s",
        "alert_latency_p50_s",
        "rules50_cpu_cost",
        "rules50_throughput_cost",
    ],
    "tail": ["tail_events_per_cpu_second", "tail_ratio_vs_forward_cpu", "tail_events_per_s"],
    "ea2": [
        "ea2_paging_latency_p50_s",
        "ea2_paging_latency_min_s",
        "ea2_paging_latency_max_s",
        "bitacora_paging_latency_p50_s",
        "bitacora_paging_latency_min_s",
        "bitacora_paging_latency_max_s",
        "ea2_pages_per_burst",
        "bitacora_pages_per_burst",
        "ea2_vs_bitacora_paging_latency_p50",
    ],
}
# Benchmarks that interleave their own repetitions and run once per bench run.
SELF_REPEATING = {"alerting", "ea2"}
# Benchmarks the smoke run leaves out (``--only`` still runs them).
NOT_IN_SMOKE = {"ea2"}


async def check_stack(settings: Settings) -> None:
    """Fail fast, with the fix, when Kafka or OpenSearch does not answer."""
    from bench.services import topic_message_count

    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(settings.opensearch_url, timeout=aiohttp.ClientTimeout(total=5)) as r,
        ):
            r.raise_for_status()
        await asyncio.wait_for(topic_message_count(settings.kafka_bootstrap, "__bench_probe__"), 15)
    except Exception as exc:
        raise SystemExit(
            f"the local stack is not answering ({exc!r}): run `bitacora stack up`"
        ) from None


async def prepare_stack(settings: Settings) -> None:
    """Install this checkout's index templates and delete what crashed runs left.

    The benchmarks' data streams match ``logs-*``: without ``bitacora setup`` they would be
    created from whichever template a test or a command installed last, not this checkout's.
    """
    from bench.services import leftover_streams, os_delete_streams
    from bitacora.processors.storage.setup import setup

    report = await setup(settings, progress=lambda _line: None)
    for change in report.changes:
        print(f"setup: {change}", file=sys.stderr, flush=True)
    async with aiohttp.ClientSession() as session:
        for stream in await leftover_streams(session, settings.opensearch_url):
            await os_delete_streams(session, settings.opensearch_url, stream)
            print(f"deleted a stream an earlier run left: {stream}", file=sys.stderr, flush=True)


async def _one(name: str, settings: Settings, size: Size, failed: list[str]) -> list[Row]:
    started = time.monotonic()
    print(f"== {name} ...", file=sys.stderr, flush=True)
    try:
        got = await BENCHES[name](settings, size)
    except Exception as exc:
        traceback.print_exc()
        failed.append(name)
        got = [Row(key, math.nan, note=f"failed: {exc!r}"[:200]) for key in OWNS[name]]
    print(f"== {name} done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return got


def schedule(names: list[str], repeats: int) -> list[list[str]]:
    """The rounds of a run: every benchmark once per round, self-repeating ones only in
    the last round (alerting loads the pipeline at the end-to-end rate measured before)."""
    rounds = []
    for index in range(repeats):
        last = index == repeats - 1
        rounds.append([n for n in names if last or n not in SELF_REPEATING])
    return rounds


async def main_async(
    names: list[str],
    size: Size,
    *,
    concurrent: bool = False,
    repeats: int = 1,
    warm: bool = True,
) -> tuple[list[Row], list[str], list[WarmRound]]:
    """Run the chosen benchmarks ``repeats`` times; the aggregated rows, failed names and
    the rounds of OpenSearch's warm-up (none when ``warm`` is false).

    ``concurrent`` (the smoke run) starts each round's benchmarks at once: they share the
    CPU, so the numbers mean little, but every code path runs in a fraction of the time.
    """
    settings = Settings()
    await check_stack(settings)
    await prepare_stack(settings)
    warmup = await warm_opensearch(settings) if warm else []
    failed: list[str] = []
    runs: dict[str, list[list[Row]]] = {name: [] for name in names}
    for round_names in schedule(names, repeats):
        if concurrent:
            parts = await asyncio.gather(*(_one(n, settings, size, failed) for n in round_names))
        else:
            parts = [await _one(n, settings, size, failed) for n in round_names]
        for name, part in zip(round_names, parts, strict=True):
            runs[name].append(part)
    rows = [row for name in names for row in aggregate(runs[name])]
    return rows, sorted(set(failed)), warmup


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (1 when a benchmark failed)."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, for CI (well under a minute)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHES),
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="sample components with py-spy (results/profile-*)"
    )
    parser.add_argument(
        "--out", default=str(RESULTS_DIR / "latest.json"), help="where to write the JSON"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="interleaved repetitions of each benchmark (default 3; the smoke run 1)",
    )
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="skip OpenSearch's warm-up (bench.warmup; the smoke run always skips it)",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="also print the README speed table (bench.markdown) for this run",
    )
    args = parser.parse_args(argv)
    repeats = args.repeat if args.repeat is not None else (1 if args.smoke else 3)
    if repeats < 1:
        parser.error("--repeat must be at least 1")
    names = args.only or [n for n in BENCHES if not (args.smoke and n in NOT_IN_SMOKE)]
    if args.profile:
        import os

        os.environ["BENCH_PROFILE"] = "1"
    started = time.monotonic()
    rows, failed, warmup = asyncio.run(
        main_async(
            names,
            SMOKE if args.smoke else FULL,
            concurrent=args.smoke,
            repeats=repeats,
            warm=not (args.smoke or args.no_warmup),
        )
    )
    present = {r.name for r in rows}
    summary = summary_with_spread(
        {
            key: row
            for key, row in SUMMARY.items()
            if row in present or any(row in OWNS[n] for n in names)
        },
        rows,
    )
    from pathlib import Path

    out = Path(args.out)
    seconds = time.monotonic() - started
    write_json(
        rows, summary, out, smoke=args.smoke, seconds=seconds, repeats=repeats, warmup=warmup
    )
    print(table(rows))
    if args.markdown:
        import json

        from bench.markdown import render

        print("\n" + render(json.loads(out.read_text())))
    print(
        f"\nwrote {args.out} in {time.monotonic() - started:.0f} s"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
