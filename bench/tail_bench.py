"""File input benchmark: ``bitacora tail`` events per CPU-second vs the forward input.

Both run as subprocesses on their own topics in the same run. The forward side is the
collector taking PackedForward chunks (as in the collector benchmark); the tail side is
``bitacora tail`` following a file that receives the same number of lines in one append.
Only CPU spent after the tailer opened the file is counted (not its start-up imports).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench import services
from bench.baselines import Timing
from bench.collector_bench import LOG_DIR, forward_ingest, start_collector
from bench.forward_client import encode_chunks, plan_chunks
from bench.payloads import service_names
from bench.procs import Component
from bench.results import Row
from bitacora.settings import Settings


def log_lines(count: int) -> bytes:
    """``count`` plain log lines of about the size of the forward benchmark's events."""
    return b"".join(
        b"2026-12-05T19:00:00.%06dZ INFO order-service request %d handled in %d ms user=u%d\n"
        % (i % 1_000_000, i, i % 97, i % 100)
        for i in range(count)
    )


async def _wait_for(path: Path, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while not await asyncio.to_thread(path.exists):
        if time.monotonic() > end:
            raise RuntimeError(f"the tailer did not store {path} in {deadline_s} s")
        await asyncio.sleep(0.05)


async def tail_ingest(settings: Settings, rid: str, events: int) -> Timing:
    """Append ``events`` lines to a followed file; time until Kafka holds them all."""
    env = services.isolated_env(rid, settings)
    topic = env["BITACORA_TOPIC_RAW"]
    await services.create_topics(
        settings.kafka_bootstrap, [topic, env["BITACORA_TOPIC_DEADLETTER"]], 1
    )
    with tempfile.TemporaryDirectory(prefix="bitacora-tail-bench-") as tmp:
        log, positions = Path(tmp) / "bench.log", Path(tmp) / "positions.json"
        log.touch()
        args = ["tail", str(log), "--service", f"bench{rid}", "--positions", str(positions)]
        tail = Component("tail", args, env, LOG_DIR / f"tail-{rid}.log").start()
        try:
            await _wait_for(positions, 60)
            cpu0, t0 = tail.cpu(), time.perf_counter()
            with log.open("ab") as out:
                out.write(log_lines(events))
            got = await services.wait_topic_count(settings.kafka_bootstrap, topic, events, 120)
            wall, cpu = time.perf_counter() - t0, tail.cpu() - cpu0
            if got != events:
                raise RuntimeError(f"tail: {got} records in Kafka, expected {events}")
        finally:
            tail.stop()
            await services.delete_topics(
                settings.kafka_bootstrap, [topic, env["BITACORA_TOPIC_DEADLETTER"]]
            )
    return Timing(events, wall, cpu)


async def bench_tail(settings: Settings, events: int, per_chunk: int = 500) -> list[Row]:
    """The tail input's events per CPU-second, with the forward input's as the baseline."""
    rid = services.run_id()
    names = service_names(f"bench{rid}")
    run = await start_collector(settings, f"{rid}f")
    try:
        plans = plan_chunks(f"tfwd-{rid}", events, per_chunk, names, seed=17)
        await forward_ingest(run, encode_chunks(f"twarm-{rid}", plans[:2]))
        fwd = await forward_ingest(run, encode_chunks(f"tfwd-{rid}", plans))
    finally:
        run.component.stop()
        await services.delete_topics(
            settings.kafka_bootstrap,
            [run.env["BITACORA_TOPIC_RAW"], run.env["BITACORA_TOPIC_DEADLETTER"]],
        )
    tail = await tail_ingest(settings, f"{rid}t", events)
    return [
        Row(
            "tail_events_per_cpu_second",
            tail.events_per_cpu_s,
            "ev/cpu-s",
            baseline=fwd.events_per_cpu_s,
        ),
        Row("tail_ratio_vs_forward_cpu", tail.events_per_cpu_s / fwd.events_per_cpu_s, "x"),
        Row("tail_events_per_s", tail.events_per_s, "ev/s", baseline=fwd.events_per_s),
    ]
