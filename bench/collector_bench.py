"""Collector benchmarks: forward PackedForward, HTTP NDJSON, OTLP and syslog ingest into Kafka.

The collector runs as ``bitacora collector`` (a subprocess, its own topics and ports);
clients send prebuilt frames with acks, so the timed part is the collector's work plus
Kafka's, and the baseline is a bare producer sending the same events' raw records, one
Kafka record each, as a client writes them that does not bundle (the collector bundles a
request's events per service, ``bitacora.bundles``; a bare producer sending those bundles
sends a few records per request and measures little beyond Kafka).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench import services
from bench.baselines import Timing, bare_producer, raw_values
from bench.forward_client import Chunk, Planned, encode_chunks, plan_chunks, send_with_acks
from bench.payloads import service_names
from bench.procs import Component, free_port, wait_port
from bench.profile import MaybeProfile
from bench.protocol_bench import otlp_ingest, otlp_requests, syslog_ingest, syslog_streams
from bench.results import Row
from bitacora.settings import Settings

LOG_DIR = Path("/tmp/bitacora-bench/logs")


@dataclass
class CollectorRun:
    """A started collector with its isolated settings."""

    rid: str
    env: dict[str, str]
    forward_port: int
    http_port: int
    component: Component
    otlp_port: int = 0
    syslog_port: int = 0


async def start_collector(
    settings: Settings, rid: str, extra_env: dict[str, str] | None = None
) -> CollectorRun:
    """Create the run's topics and start ``bitacora collector`` on free ports."""
    forward_port, http_port = free_port(), free_port()
    otlp_port, syslog_port = free_port(), free_port()
    env = services.isolated_env(
        rid, settings, forward=forward_port, http=http_port, otlp_http=otlp_port, syslog=syslog_port
    )
    env.update(extra_env or {})
    await services.create_topics(
        settings.kafka_bootstrap,
        [env["BITACORA_TOPIC_RAW"], env["BITACORA_TOPIC_DEADLETTER"]],
        settings.topic_partitions,
    )
    component = Component("collector", ["collector"], env, LOG_DIR / f"collector-{rid}.log").start()
    try:
        wait_port(forward_port, 60, component.proc)
        wait_port(http_port, 30, component.proc)
    except Exception:
        component.stop()
        raise RuntimeError(f"collector did not start:\n{component.log_tail()}") from None
    return CollectorRun(rid, env, forward_port, http_port, component, otlp_port, syslog_port)


async def forward_ingest(
    run: CollectorRun, chunks: Sequence[Chunk], connections: int = 2, window: int = 16
) -> Timing:
    """Send ``chunks`` over ``connections`` parallel connections; time until all are acked."""
    slices = [list(chunks[i::connections]) for i in range(connections)]
    cpu0, t0 = run.component.cpu(), time.perf_counter()
    results = await asyncio.gather(
        *(
            send_with_acks("127.0.0.1", run.forward_port, s, window=window, deadline_s=300)
            for s in slices
        )
    )
    wall, cpu = time.perf_counter() - t0, run.component.cpu() - cpu0
    acked = sum(len(r.acked) for r in results)
    if acked != len(chunks):
        errors = [e for r in results for e in r.errors][:3]
        raise RuntimeError(f"forward: {acked} of {len(chunks)} chunks acked: {errors}")
    return Timing(sum(c.count for c in chunks), wall, cpu)


def ndjson_batches(plans: Sequence[Planned]) -> list[tuple[str, bytes, int]]:
    """(tag, NDJSON body, events) per planned chunk, for the HTTP source."""
    return [
        (
            tag,
            b"".join(json.dumps(rec, separators=(",", ":")).encode() + b"\n" for _, rec in events),
            len(events),
        )
        for tag, events in plans
    ]


async def http_ingest(
    run: CollectorRun, batches: Sequence[tuple[str, bytes, int]], concurrency: int = 4
) -> Timing:
    """POST NDJSON batches to ``/<tag>``; every one must be answered 2xx."""
    gate = asyncio.Semaphore(concurrency)
    base = f"http://127.0.0.1:{run.http_port}"
    headers = {"Content-Type": "application/x-ndjson"}
    token = run.env.get("BITACORA_HTTP_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def post(tag: str, body: bytes) -> None:
            async with gate, session.post(f"{base}/{tag}", data=body, headers=headers) as response:
                text = await response.text()
                if response.status >= 300:
                    raise RuntimeError(f"HTTP {response.status}: {text[:200]}")

        cpu0, t0 = run.component.cpu(), time.perf_counter()
        await asyncio.gather(*(post(tag, body) for tag, body, _ in batches))
        wall, cpu = time.perf_counter() - t0, run.component.cpu() - cpu0
    return Timing(sum(n for _, _, n in batches), wall, cpu)


async def bench_collector(settings: Settings, events: int, per_chunk: int = 500) -> list[Row]:
    """Forward and HTTP ingest vs the bare producer; CPU per 1,000 events, peak RSS."""
    rid = services.run_id()
    names = service_names(f"bench{rid}")
    warm_plans = plan_chunks(f"warm-{rid}", per_chunk * 2, per_chunk, names)
    plans = plan_chunks(f"fwd-{rid}", events, per_chunk, names, seed=11)
    chunks = encode_chunks(f"fwd-{rid}", plans)
    http_plans = plan_chunks(f"http-{rid}", events, per_chunk, names, seed=13)
    batches = ndjson_batches(http_plans)
    otlp = otlp_requests(plan_chunks(f"otlp-{rid}", events, per_chunk, names, seed=17))
    streams = syslog_streams(plan_chunks(f"sys-{rid}", events, per_chunk, names, seed=19), 2)
    run = await start_collector(settings, rid)
    topic = run.env["BITACORA_TOPIC_RAW"]
    try:
        await forward_ingest(run, encode_chunks(f"warm-{rid}", warm_plans))
        with MaybeProfile(run.component.pid, "collector-forward"):
            fwd = await forward_ingest(run, chunks)
        in_kafka = await services.wait_topic_count(
            settings.kafka_bootstrap, topic, events + per_chunk * 2, 60
        )
        if in_kafka != events + per_chunk * 2:
            raise RuntimeError(
                f"collector: {in_kafka} records in Kafka, expected {events + per_chunk * 2}"
            )
        with MaybeProfile(run.component.pid, "collector-http"):
            http = await http_ingest(run, batches)
        with MaybeProfile(run.component.pid, "collector-otlp"):
            otlp_timing = await otlp_ingest(run.component, run.otlp_port, otlp)
        before = await services.wait_topic_count(settings.kafka_bootstrap, topic, None, 60)
        with MaybeProfile(run.component.pid, "collector-syslog"):
            syslog = await syslog_ingest(
                run.component, run.syslog_port, streams, events, settings.kafka_bootstrap,
                topic, before,
            )  # fmt: skip
        peak_rss = run.component.peak_rss_mib()
    finally:
        run.component.stop()
    baseline_topic = f"bench-{rid}.baseline"
    await services.create_topics(
        settings.kafka_bootstrap, [baseline_topic], settings.topic_partitions
    )
    try:
        one_each = [(key, value, 1) for key, value in raw_values(plans)]
        bare = await bare_producer(settings, baseline_topic, one_each)
    finally:
        await services.delete_topics(
            settings.kafka_bootstrap,
            [baseline_topic, topic, run.env["BITACORA_TOPIC_DEADLETTER"]],
        )
    return [
        Row("collector_forward_events_per_s", fwd.events_per_s, "ev/s", baseline=bare.events_per_s),
        Row(
            "collector_ratio_vs_bare_producer",
            fwd.events_per_s / bare.events_per_s,
            "x",
            target=0.5,
        ),
        Row(
            "collector_events_per_cpu_second",
            fwd.events_per_cpu_s,
            "ev/cpu-s",
            baseline=bare.events_per_cpu_s,
            target=30_000,
        ),
        Row("collector_cpu_s_per_1000_events", 1000 / fwd.events_per_cpu_s, "cpu-s"),
        Row("collector_http_events_per_s", http.events_per_s, "ev/s", baseline=bare.events_per_s),
        Row("collector_http_events_per_cpu_second", http.events_per_cpu_s, "ev/cpu-s"),
        Row("collector_otlp_events_per_cpu_second", otlp_timing.events_per_cpu_s, "ev/cpu-s"),
        Row(
            "collector_otlp_cpu_vs_forward",
            otlp_timing.events_per_cpu_s / fwd.events_per_cpu_s,
            "x",
        ),
        Row("collector_syslog_events_per_cpu_second", syslog.events_per_cpu_s, "ev/cpu-s"),
        Row("collector_syslog_cpu_vs_forward", syslog.events_per_cpu_s / fwd.events_per_cpu_s, "x"),
        Row("collector_peak_rss_mib", peak_rss, "MiB"),
        Row("bare_producer_events_per_s", bare.events_per_s, "ev/s"),
        Row("bare_producer_events_per_cpu_second", bare.events_per_cpu_s, "ev/cpu-s"),
        Row("kafka_cpu_s_per_1000_events", 1000 * bare.server_cpu_s / bare.events, "cpu-s"),
    ]
