"""The runs behind the cost of 50 rules (``bench.rules_cost``): one drain of a backlog by
the alerting role alone (``rules_drain``) or by the whole processor (``pipeline_drain``),
with 1 or 50 rules, timed by the CPU of its own processes (see ``_timed_backlog``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import yaml

from bench import services
from bench.baselines import Timing
from bench.collector_bench import LOG_DIR
from bench.procs import Component, free_port
from bench.profile import MaybeProfile
from bitacora import schema
from bitacora.settings import Settings

if TYPE_CHECKING:
    from bitacora.processors.normalize.stage import Output


def write_rules(rid: str, files: dict[str, str]) -> Path:
    """Write rule files (name → YAML text) into a fresh rules directory of run ``rid``."""
    rules_dir = Path(f"/tmp/bitacora-bench/{rid}/rules")
    rules_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (rules_dir / name).write_text(text)
    return rules_dir


def start_processor(env: dict[str, str], rid: str, roles: tuple[str, ...], name: str) -> Component:
    """One ``bitacora processor`` process running ``roles``, with its own HTTP port."""
    Path(env["BITACORA_PROCESSOR_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    args = ["processor"]
    for role in roles:
        args += ["--role", role]
    env = {**env, "BITACORA_PROCESSOR_HTTP_PORT": str(free_port())}
    return Component(name, args, env, LOG_DIR / f"{name}-{rid}.log").start()


def _rules_dir(rid: str, rule_count: int, service_names: list[str] | None = None) -> Path:
    from bench.rules_support import SERVICES, make_rules

    files = {}
    for rule in make_rules(rule_count, service_names or SERVICES):
        doc = rule.model_dump(mode="json", exclude_unset=True, by_alias=True)
        doc.setdefault("alert", "debug")
        files[f"{rule.name}.yaml"] = yaml.safe_dump(doc)
    return write_rules(rid, files)


async def _alerting_done(settings: Settings, env: dict[str, str]) -> bool:
    """Whether the alerting role committed everything: normalized events and keyed records."""
    return await services.alerting_lag(settings.kafka_bootstrap, env, alerts=False) == 0


async def _until(
    check: Callable[[], Awaitable[bool]], processes: list[Component], what: str, deadline_s: float
) -> None:
    end = time.monotonic() + deadline_s
    while not await check():
        if time.monotonic() > end:
            raise RuntimeError(f"timed out waiting for {what}")
        for process in processes:
            if not process.alive():
                raise RuntimeError(f"{process.name} died:\n{process.log_tail()}")
        await asyncio.sleep(0.1)


def _cpu(processes: list[Component]) -> float:
    return sum(process.cpu() for process in processes)


async def _settle(processes: list[Component], deadline_s: float = 60.0) -> None:
    """Wait until start-up work is over: under 5% of a CPU per process used during one
    second (each role spends a few % idle anyway: timers, polls, rule ticks)."""
    end = time.monotonic() + deadline_s
    last = _cpu(processes)
    while time.monotonic() < end:
        await asyncio.sleep(1.0)
        cpu = _cpu(processes)
        if cpu - last < 0.05 * len(processes):
            return
        last = cpu
    raise RuntimeError("the processor never went idle")


async def _timed(
    processes: list[Component],
    send: Callable[[], Awaitable[object]],
    done: Callable[[], Awaitable[bool]],
    events: int,
    servers: Sequence[int | None] = (),
) -> Timing:
    """CPU (summed over ``processes``) and wall from just before ``send`` until ``done``;
    the CPU of the ``servers`` (Kafka's and OpenSearch's JVMs) as ``server_cpu_s``.

    The processes have already handled a warm-up share of the same data and gone idle, so
    start-up, the consumer-group joins and the first commits are outside the window.
    """
    from bench.baselines import server_cpu

    await _settle(processes)
    t0, cpu0 = time.perf_counter(), _cpu(processes)
    server0 = [server_cpu(pid) for pid in servers]
    await send()
    await _until(done, processes, "the drain", 600)
    server_s = sum(server_cpu(pid) - c0 for pid, c0 in zip(servers, server0, strict=True))
    return Timing(events, time.perf_counter() - t0, _cpu(processes) - cpu0, server_s)


# The longest the alerting role may stay paused: under its consumers' 10 s session timeout,
# so the group does not rebalance during a measured run.
MAX_PAUSE_S = 8.0


def bundles(topic: str, events: Sequence[dict[str, Any]]) -> list[Output]:
    """``events`` as the normalize role writes them to ``topic``: per batch of
    ``bulk_max_docs`` events, one bundle of ``_bulk`` lines per service
    (processors.storage.bulk)."""
    from bitacora import bundles as bundling
    from bitacora.processors.normalize import to_json_bytes
    from bitacora.processors.normalize.stage import Output
    from bitacora.processors.storage.bulk import build_bulk_body

    size = Settings().bulk_max_docs
    out = []
    for start in range(0, len(events), size):
        by_service: dict[str, list[tuple[str, str, bytes]]] = {}
        for e in events[start : start + size]:
            service = e["service.name"]
            stream = schema.logs_stream_for(service)
            by_service.setdefault(service, []).append((stream, e["event.id"], to_json_bytes(e)))
        for service, docs in by_service.items():
            body = build_bulk_body(docs)
            out.append(Output(topic, service.encode(), body, bundling.header(len(docs))))
    return out


async def produce_batched(settings: Settings, outputs: Sequence[Output]) -> None:
    """Produce ``outputs`` in Kafka record batches, as the roles do
    (``processors.shell.produce``): a few µs a record, several times faster than ``send``."""
    from bitacora.processors.shell.produce import Sink, send_all

    sink = Sink(settings, "bench")
    await sink.start()
    try:
        await send_all(sink, outputs)
    finally:
        await sink.stop()


# Sampling the drained process's CPU: an interval in which it used at most IDLE_CPU_S (8%
# of a core) is idle; it idles at about 3% of a core (timers, polls), a drain on a loaded
# machine takes 20% or more.
SAMPLE_S = 0.25
IDLE_CPU_S = 0.02
# How long the idle process's background CPU (timers, polls, rule ticks) is measured.
BACKGROUND_S = 2.0


def busy_until(samples: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """The (time, CPU seconds) sample at which a process's work ended: the last one before
    the trailing intervals in which it used at most ``IDLE_CPU_S`` each, and never before
    the end of the first interval (a drain smaller than the threshold, as in a smoke run).
    ``samples`` start with the window's opening and are in time order."""
    end = len(samples) - 1
    while end > 1 and samples[end][1] - samples[end - 1][1] <= IDLE_CPU_S:
        end -= 1
    return samples[end]


def work_cpu(window_cpu_s: float, window_s: float, background_cpu_per_s: float) -> float:
    """The CPU a window's work took: its CPU less what the process spends anyway over as
    long (its background rate, measured idle)."""
    return window_cpu_s - background_cpu_per_s * window_s


async def _meet(together: asyncio.Barrier | None) -> None:
    """Wait for the other drain of a pair (``together``), if any."""
    if together is not None:
        await asyncio.wait_for(together.wait(), 300)


async def _timed_backlog(
    process: Component,
    produce: Callable[[], Awaitable[object]],
    done: Callable[[], Awaitable[bool]],
    events: int,
    together: asyncio.Barrier | None = None,
) -> Timing:
    """The process's own CPU for draining a backlog of ``events``, and the wall time.

    Read to the nanosecond (``Component.precise_cpu``). Once the process has gone idle,
    its background CPU per second is measured; it is then paused (SIGSTOP) while
    ``produce`` writes the backlog, and the window opens when it resumes, so it reads full
    batches however fast the producer was. The window closes where its work ended
    (``busy_until`` over CPU samples), not when ``done`` saw the last commit, and the
    background CPU over the window's length is taken off (``work_cpu``): on a loaded
    machine the same drain takes longer, and would otherwise charge the events with more
    of the timers and polls that run anyway.
    """
    await _settle([process])
    start, cpu = time.perf_counter(), process.precise_cpu()
    await asyncio.sleep(BACKGROUND_S)
    background = (process.precise_cpu() - cpu) / (time.perf_counter() - start)
    await _meet(together)
    process.pause()
    try:
        paused = time.perf_counter()
        await produce()
        await _meet(together)
        samples = [(time.perf_counter(), process.precise_cpu())]
    finally:
        process.resume()
    if samples[0][0] - paused > MAX_PAUSE_S:
        raise RuntimeError(
            f"producing the backlog took {samples[0][0] - paused:.1f} s, over {MAX_PAUSE_S} s: "
            "the paused role's consumer group may have rebalanced; rerun on a less busy machine"
        )
    # Kafka is asked whether everything is committed only once the process went idle: the
    # questions cost CPU on the same cores, and would slow the drain they measure.
    end = samples[0][0] + 600
    while True:
        await asyncio.sleep(SAMPLE_S)
        samples.append((time.perf_counter(), process.precise_cpu()))
        last = samples[-3:]
        idle = len(last) == 3 and all(b - a <= IDLE_CPU_S for (_, a), (_, b) in pairwise(last))
        if idle and await done():
            break
        if not process.alive():
            raise RuntimeError(f"{process.name} died:\n{process.log_tail()}")
        if time.perf_counter() > end:
            raise RuntimeError("timed out waiting for the drain")
    (t0, cpu0), (t1, cpu1) = samples[0], busy_until(samples)
    return Timing(events, t1 - t0, work_cpu(cpu1 - cpu0, t1 - t0, background))


def _warmup(count: int) -> int:
    return max(1, count // 50)


async def rules_drain(
    settings: Settings, events: int, rule_count: int, together: asyncio.Barrier | None = None
) -> Timing:
    """``--role alerting`` alone draining ``events`` normalized events with ``rule_count``
    rules, until both of its stages committed everything; the CPU is that process's own.
    With ``together``, its backlog is written and its drain starts at the same moments as
    the other drain's of a simultaneous pair."""
    from bench.rules_support import make_events

    rid = services.run_id()
    env = services.isolated_env(rid, settings)
    env["BITACORA_RULES_DIR"] = str(_rules_dir(rid, rule_count))
    topics = [env[f"BITACORA_TOPIC_{t}"] for t in ("RAW", "NORMALIZED", "DEADLETTER", "ALERTS")]
    await services.create_topics(settings.kafka_bootstrap, topics, 3)
    warm = _warmup(events)
    # The same events (same seed) in every run, stamped up to now as they would arrive.
    stamped = make_events(warm + events, start=time.time() - (warm + events) * 0.001)
    topic = env["BITACORA_TOPIC_NORMALIZED"]
    processor = start_processor(env, rid, ("alerting",), f"rules{rule_count}")
    try:

        async def done() -> bool:
            return await _alerting_done(settings, env)

        await produce_batched(settings, bundles(topic, stamped[:warm]))
        await _until(done, [processor], "the warm-up", 180)
        with MaybeProfile(processor.pid, f"alerting-{rule_count}rules"):
            return await _timed_backlog(
                processor,
                lambda: produce_batched(settings, bundles(topic, stamped[warm:])),
                done,
                events,
                together,
            )
    finally:
        processor.stop()
        await services.delete_topics(settings.kafka_bootstrap, topics, env["BITACORA_APP_ID"])


async def pipeline_drain(settings: Settings, events: int, rule_count: int) -> Timing:
    """The whole processor (one process per role, as ``bitacora run`` starts them) draining
    ``events`` raw records with ``rule_count`` rules about the run's services, until all
    are searchable and the alerting role committed everything; CPU summed over the roles."""
    from bench.baselines import bare_producer, raw_bundles, stack_pid
    from bench.forward_client import plan_chunks
    from bench.payloads import service_names
    from bench.processor_bench import start_processors

    rid = services.run_id()
    prefix = f"bench{rid}"
    names = service_names(prefix)
    records = raw_bundles(
        plan_chunks(f"rules-{rid}", _warmup(events) + events, 500, names, seed=17)
    )
    # The warm-up: the first bundles holding at least _warmup(events) events.
    split, warm = 0, 0
    while warm < _warmup(events):
        warm += records[split][2]
        split += 1
    events += _warmup(events) - warm
    env = services.isolated_env(rid, settings)
    env["BITACORA_RULES_DIR"] = str(_rules_dir(rid, rule_count, names))
    topics = [env[f"BITACORA_TOPIC_{t}"] for t in ("RAW", "NORMALIZED", "DEADLETTER", "ALERTS")]
    await services.create_topics(settings.kafka_bootstrap, topics, settings.topic_partitions)
    pattern = f"logs-{prefix}-*"
    topic = env["BITACORA_TOPIC_RAW"]
    async with aiohttp.ClientSession() as session:

        def searchable(count: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                found = await services.os_count(session, settings.opensearch_url, pattern)
                return found >= count and await _alerting_done(settings, env)

            return check

        try:
            streams = [schema.logs_stream_for(name) for name in names]
            await services.os_create_streams(session, settings.opensearch_url, streams)
            processes = start_processors(env, rid, ("normalize", "index", "alerting"))
            try:
                await bare_producer(settings, topic, records[:split])
                await _until(searchable(warm), processes, "the warm-up", 180)
                alerting = processes[-1]
                with MaybeProfile(alerting.pid, f"pipeline-alerting-{rule_count}rules"):
                    return await _timed(
                        processes,
                        lambda: bare_producer(settings, topic, records[split:]),
                        searchable(warm + events),
                        events,
                        [stack_pid(settings, "kafka"), stack_pid(settings, "opensearch")],
                    )
            finally:
                for process in processes:
                    process.stop()
        finally:
            await services.os_delete_streams(session, settings.opensearch_url, pattern)
            await services.delete_topics(settings.kafka_bootstrap, topics, env["BITACORA_APP_ID"])
