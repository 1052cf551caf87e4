"""Processor benchmark: normalize + index vs the raw ``_bulk`` loader on the same documents.

Raw records are preloaded into the run's ``logs.raw``; ``bitacora processor --role
normalize`` and ``bitacora processor --role index`` (one process each) then drain them into
OpenSearch; CPU and peak RSS are the sums of both. The throughput is measured from the
last moment before the index role stored documents until all are searchable, so worker
start-up and the consumer-group join do not count. The baseline posts the very documents
the normalizer produces, prebuilt, into separate streams, its window too ending when all are
searchable (``processor_ratio_vs_raw_bulk_acked``: against its rate up to the last bulk's
answer).

Before the processors start, the benchmark process also times, quiet and on the same raw
records, what the normalize role's per-event Python costs at least: ``rawrecord.decode`` +
``normalize_json`` (normalize + encode) against the floor (decode, the record copied into a
document, orjson: :func:`bench.instructions.floor_document`), interleaved, the median of
``QUIET_PASSES`` passes each. Quiet means no Kafka client, no other process on the cores:
a lower bound of what the role spends per event inside the pipeline. The same bare timing
runs once more in a child process that imports the normalizer from its Python sources
(:func:`bitacora.compiled.prefer_sources`), so each run prints what the mypyc build saves.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench import services
from bench.baselines import Timing, raw_bulk, raw_bundles, raw_values
from bench.collector_bench import LOG_DIR
from bench.forward_client import plan_chunks
from bench.payloads import service_names
from bench.procs import Component, free_port
from bench.profile import MaybeProfile
from bench.results import Row
from bitacora import rawrecord, schema
from bitacora.settings import Settings

QUIET_PASSES = 3


def normalized_docs(
    values: Sequence[tuple[bytes, bytes]], stream_prefix: str
) -> list[tuple[str, str, bytes]]:
    """(stream, id, JSON) exactly as the index agent would send them, in other streams."""
    from bitacora.processors.normalize import NormalizeConfig, normalize, to_json_bytes

    config = NormalizeConfig.from_settings(Settings())
    docs = []
    for offset, (_key, value) in enumerate(values):
        doc = normalize(rawrecord.decode(value), 0, offset, config)
        stream = schema.logs_stream_for(stream_prefix + doc["service.name"])
        docs.append((stream, doc["event.id"], to_json_bytes(doc)))
    return docs


def quiet_normalize_cpu_us(values: Sequence[tuple[bytes, bytes]]) -> tuple[float, float]:
    """CPU µs per event in this process: (decode + normalize + encode, the floor)."""
    import orjson

    from bench.instructions import floor_document
    from bitacora.processors.normalize import NormalizeConfig, normalize_json

    config = NormalizeConfig.from_settings(Settings())
    decode = rawrecord.decode
    raws = [value for _key, value in values]

    def bare() -> None:
        for offset, value in enumerate(raws):
            normalize_json(decode(value), 0, offset, config)

    def floor() -> None:
        for offset, value in enumerate(raws):
            orjson.dumps(floor_document(decode(value), offset))

    passes: dict[str, list[float]] = {"bare": [], "floor": []}
    for _ in range(QUIET_PASSES):
        for name, run in (("bare", bare), ("floor", floor)):
            start = time.process_time()
            run()
            passes[name].append(1e6 * (time.process_time() - start) / max(len(raws), 1))
    return statistics.median(passes["bare"]), statistics.median(passes["floor"])


_PURE_QUIET = (
    "import sys\n"
    "from bitacora.compiled import prefer_sources\n"
    "prefer_sources()\n"
    "import msgpack\n"
    "from bench.processor_bench import quiet_normalize_cpu_us\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    values = [(b'', v) for v in msgpack.unpackb(f.read())]\n"
    "print(quiet_normalize_cpu_us(values)[0])\n"
)


def quiet_pure_normalize_cpu_us(values: Sequence[tuple[bytes, bytes]]) -> float:
    """:func:`quiet_normalize_cpu_us`'s first figure in a child process whose normalizer
    runs from its Python sources (the build without mypyc)."""
    import msgpack

    with tempfile.NamedTemporaryFile(suffix=".msgpack") as file:
        file.write(msgpack.packb([value for _key, value in values]))
        file.flush()
        done = subprocess.run(
            [sys.executable, "-c", _PURE_QUIET, file.name],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"pure-Python normalize timing failed: {done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


async def preload(
    settings: Settings, topic: str, records: Sequence[tuple[bytes, bytes, int]]
) -> None:
    """Put raw records (bundles: ``bench.baselines.raw_bundles``) into ``topic`` (untimed)."""
    from bench.baselines import bare_producer

    await bare_producer(settings, topic, records)


async def stored_by(session: aiohttp.ClientSession, index_role: Component) -> float:
    """Documents the index role has stored so far (its ``bitacora_events_out`` counter, read
    from its /metrics); 0 while its HTTP service is not up yet."""
    port = index_role.env["BITACORA_PROCESSOR_HTTP_PORT"]
    try:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
    except aiohttp.ClientConnectionError:
        return 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "bitacora_events_out_total" and sample.labels.get("role") == "index":
                return float(sample.value)
    return 0.0


async def watch_drain(
    session: aiohttp.ClientSession,
    settings: Settings,
    pattern: str,
    expected: int,
    cpu_of: Sequence[Component],
    deadline_s: float,
) -> Timing:
    """Poll the components' CPU, the documents stored and those searchable in ``pattern``
    until ``expected`` are searchable (``cpu_of``: the normalize and the index role).

    The window opens at the last poll where the index role had stored at most 1% of them,
    so start-up is excluded. The stored count, not the searchable one, decides it: a drain
    shorter than a refresh could otherwise be over before anything was searchable.
    """
    end = time.monotonic() + deadline_s
    start: tuple[float, float, float] | None = None
    count = 0
    while time.monotonic() < end:
        stored = await stored_by(session, cpu_of[-1])
        count = await services.os_count(session, settings.opensearch_url, pattern)
        now, cpu = time.perf_counter(), sum(c.cpu() for c in cpu_of)
        # The window opens at the last sample before documents were stored (start-up excluded).
        if start is None or stored <= expected * 0.01:
            start = (now, cpu, stored)
        if count >= expected:
            break
        for c in cpu_of:
            if not c.alive():
                raise RuntimeError(f"{c.name} died:\n{c.log_tail()}")
        await asyncio.sleep(0.1)
    if count < expected or start is None:
        raise RuntimeError(f"only {count} of {expected} documents searchable in {pattern}")
    t0, cpu0, stored0 = start
    events = expected - round(stored0)
    return Timing(events, time.perf_counter() - t0, sum(c.cpu() for c in cpu_of) - cpu0)


def role_component(role: str) -> str:
    """The name of the component that runs processor role ``role``."""
    return f"processor-{role}"


def start_processors(
    env: dict[str, str], rid: str, roles: Sequence[str] = ("normalize", "index")
) -> list[Component]:
    """One ``bitacora processor --role ROLE`` per role with the run's environment.

    One process per role, as ``bitacora run`` and the Kubernetes manifests run them: a
    Python process uses one core, and each role scales out on its own. Each serves its
    /healthz, /readyz and /metrics on a free port of its own.
    """
    Path(env["BITACORA_PROCESSOR_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    return [
        Component(
            role_component(role),
            ["processor", "--role", role],
            {**env, "BITACORA_PROCESSOR_HTTP_PORT": str(free_port())},
            LOG_DIR / f"{role}-{rid}.log",
        ).start()
        for role in roles
    ]


async def bench_processor(settings: Settings, events: int) -> list[Row]:
    """The processor draining a preloaded backlog vs the raw loader on the same docs."""
    rid = services.run_id()
    prefix = f"bench{rid}"
    plans = plan_chunks(f"proc-{rid}", events, 500, service_names(prefix), seed=17)
    values = raw_values(plans)
    env = services.isolated_env(rid, settings, web=free_port())
    topics = [env[f"BITACORA_TOPIC_{t}"] for t in ("RAW", "NORMALIZED", "DEADLETTER", "ALERTS")]
    await services.create_topics(settings.kafka_bootstrap, topics, settings.topic_partitions)
    docs = normalized_docs(values, "raw")
    quiet_us, floor_us = quiet_normalize_cpu_us(values)
    pure_us = quiet_pure_normalize_cpu_us(values)
    pattern = f"logs-{prefix}-*"
    raw_pattern = f"logs-raw{prefix}-*"
    async with aiohttp.ClientSession() as session:
        try:
            streams = [schema.logs_stream_for(name) for name in service_names(prefix)]
            await services.os_create_streams(session, settings.opensearch_url, streams)
            await preload(settings, env["BITACORA_TOPIC_RAW"], raw_bundles(plans))
            processors = start_processors(env, rid)
            try:
                with (
                    MaybeProfile(processors[0].pid, "normalize"),
                    MaybeProfile(processors[1].pid, "index"),
                ):
                    timing = await watch_drain(session, settings, pattern, events, processors, 600)
                peak = sum(p.peak_rss_mib() for p in processors)
            finally:
                for p in processors:
                    p.stop()
            await services.os_refresh(session, settings.opensearch_url, pattern)
            exact = await services.os_count(session, settings.opensearch_url, pattern)
            if exact != events:
                raise RuntimeError(f"processor: {exact} documents, expected exactly {events}")
            baseline = await raw_bulk(settings.opensearch_url, docs)
        finally:
            await services.os_delete_streams(session, settings.opensearch_url, pattern)
            await services.os_delete_streams(session, settings.opensearch_url, raw_pattern)
            await services.delete_topics(settings.kafka_bootstrap, topics, env["BITACORA_APP_ID"])
    t = timing
    return [
        Row("processor_events_per_s", t.events_per_s, "ev/s", baseline=baseline.events_per_s),
        Row(
            "processor_ratio_vs_raw_bulk",
            t.events_per_s / baseline.events_per_s,
            "x",
            target=0.80,  # issue 18
        ),
        Row("processor_ratio_vs_raw_bulk_acked", t.events_per_s / baseline.acked_events_per_s, "x"),
        Row("processor_events_per_cpu_second", t.events_per_cpu_s, "ev/cpu-s", target=10_000),
        Row("processor_cpu_s_per_1000_events", 1000 / t.events_per_cpu_s, "cpu-s"),
        Row("processor_peak_rss_mib", peak, "MiB"),
        Row("raw_bulk_events_per_s", baseline.events_per_s, "ev/s"),
        Row("raw_bulk_acked_events_per_s", baseline.acked_events_per_s, "ev/s"),
        Row("raw_bulk_client_events_per_cpu_second", baseline.events_per_cpu_s, "ev/cpu-s"),
        Row(
            "opensearch_cpu_s_per_1000_docs",
            1000 * baseline.server_cpu_s / baseline.events,
            "cpu-s",
        ),
        Row("normalize_quiet_cpu_us_per_event", quiet_us, "µs"),
        Row("normalize_floor_cpu_us_per_event", floor_us, "µs"),
        Row("normalize_quiet_pure_python_cpu_us_per_event", pure_us, "µs"),
        Row("normalize_compiled_vs_pure_python_cpu", quiet_us / pure_us, "x"),
    ]
