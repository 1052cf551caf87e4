"""Alerting: event-to-webhook latency and what 50 rules cost.

1. Latency: collector → normalize → alerting with an ``any`` rule (realert 0, one alert per
   probe) posting to a webhook served here; each probe's latency is from its write to the
   collector until its POST arrives.
2. Cost of rules, against PIPELINE throughput as issue 5 states it: the whole processor
   (normalize, index and alerting, one process per role as ``bitacora run`` starts them,
   CPU summed) drains the same backlog of raw records into OpenSearch once with 1 rule
   and once with 50 (``bench.rules_support.make_rules(50)``, aimed at the run's
   services); each run ends
   when every document is searchable AND the alerting role has finished both its stages
   (normalized events and the keyed records between them). ``rules50_throughput_cost`` =
   1 - (events per CPU-second with 50) / (with 1): the throughput lost on a CPU-bound
   machine, the median over three pairs of runs side by side (1 50, 50 1, 1 50) of the
   same bench run, with the lowest and highest pair beside it. The machine is shared:
   single runs of the same code differ by several points, and a run the host disturbs
   is slower in every role at once by up to a third.
   Each run first drains a warm-up share (2%) of the same data and waits until the
   processor is idle, so start-up and the consumer-group join stay out of the window; the
   window then spans producing the rest until everything is committed (the old window,
   opened from commit lag, lost up to a commit interval of work at its start and ended
   before the keyed records between the two alerting stages were evaluated).
3. The same cost for the alerting role alone (``--role alerting`` draining normalized
   events from ``make_events``) is kept as ``rules50_alerting_role_cost``: it exaggerates
   what rules cost the pipeline, since normalize and index are not in the denominator, but
   it is the stage the rules live in and shows their cost in isolation.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import aiohttp
import yaml
from aiohttp import web

from bench import services
from bench.baselines import Timing
from bench.collector_bench import LOG_DIR, start_collector
from bench.e2e_bench import percentile
from bench.forward_client import build_chunks, paced_send
from bench.procs import Component, free_port
from bench.profile import MaybeProfile
from bench.results import Row
from bitacora import schema
from bitacora.collector.forward.encode import event_time, message
from bitacora.settings import Settings

PROBE_RULE = """\
name: bench-probe
type: any
query_key: trace.id
filter:
  - term:
      service.name: "{service}"
realert:
  minutes: 0
alert: post
http_post_url: "{url}/hook"
"""


class Webhook:
    """An aiohttp server on 127.0.0.1 recording when each POST arrived and its body."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, object]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        now = time.monotonic()
        try:
            body: object = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.arrivals.append((now, body))
        return web.json_response({"ok": True})

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()


def _write_rules(rid: str, files: dict[str, str]) -> Path:
    rules_dir = Path(f"/tmp/bitacora-bench/{rid}/rules")
    rules_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (rules_dir / name).write_text(text)
    return rules_dir


def _processor(env: dict[str, str], rid: str, roles: tuple[str, ...], name: str) -> Component:
    Path(env["BITACORA_PROCESSOR_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    args = ["processor"]
    for role in roles:
        args += ["--role", role]
    env = {**env, "BITACORA_PROCESSOR_HTTP_PORT": str(free_port())}
    return Component(name, args, env, LOG_DIR / f"{name}-{rid}.log").start()


async def alert_latency(
    settings: Settings, probes: int, interval_s: float, background_rate: float = 0.0
) -> list[float]:
    """Send ``probes`` error events ``interval_s`` apart, over ``background_rate`` events/s
    of ordinary traffic; each probe's time from write to webhook."""
    rid = services.run_id()
    hook = Webhook()
    await hook.start()
    service = f"bench{rid}-probe"
    rules_dir = _write_rules(rid, {"probe.yaml": PROBE_RULE.format(service=service, url=hook.url)})
    run = await start_collector(settings, rid, {"BITACORA_RULES_DIR": str(rules_dir)})
    env = run.env
    topics = [env[f"BITACORA_TOPIC_{t}"] for t in ("RAW", "NORMALIZED", "DEADLETTER", "ALERTS")]
    await services.create_topics(settings.kafka_bootstrap, topics, 3)
    processor = _processor(env, rid, ("normalize", "alerting"), "alerting")
    sent: dict[str, float] = {}
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", run.forward_port)
        try:
            # Warm-up probes until the first alert arrives (consumer groups joined).
            deadline = time.monotonic() + 120
            n = 0
            while not hook.arrivals:
                if time.monotonic() > deadline or not processor.alive():
                    raise RuntimeError(f"no alert from the warm-up:\n{processor.log_tail()}")
                writer.write(_probe(service, f"warm-{n}"))
                await writer.drain()
                n += 1
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)
            hook.arrivals.clear()
            background = None
            if background_rate > 0:
                seconds = probes * interval_s + 5
                per_chunk = max(1, round(background_rate * 0.1))
                total = max(per_chunk, round(background_rate * seconds))
                chunks = build_chunks(f"bg-{rid}", total, per_chunk, [f"bench{rid}-bg"])
                background = asyncio.create_task(
                    paced_send("127.0.0.1", run.forward_port, chunks, 0.1)
                )
            with MaybeProfile(processor.pid, "alerting-latency"):
                for i in range(probes):
                    key = f"probe-{i}"
                    sent[key] = time.monotonic()
                    writer.write(_probe(service, key))
                    await writer.drain()
                    await asyncio.sleep(interval_s)
                end = time.monotonic() + 60
                if background is not None:
                    await background
                # The webhook fills ``arrivals`` from its own handler: poll it with a deadline.
                while time.monotonic() < end and len(_arrived(hook)) < probes:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            writer.close()
        arrived = _arrived(hook)
        if len(arrived) < probes:
            raise RuntimeError(f"only {len(arrived)} of {probes} probe alerts arrived")
        return [arrived[k] - sent[k] for k in sent]
    finally:
        processor.stop()
        run.component.stop()
        await hook.stop()
        await services.delete_topics(settings.kafka_bootstrap, topics, env["BITACORA_APP_ID"])


def _probe(service: str, key: str) -> bytes:
    ns = time.time_ns()
    record = {
        "level": "ERROR",
        "message": f"bench {key} failed",
        "service": service,
        "trace_id": key,
    }
    return message(f"{service}.app", event_time(ns // 1_000_000_000, ns % 1_000_000_000), record)


def _arrived(hook: Webhook) -> dict[str, float]:
    out: dict[str, float] = {}
    for at, body in hook.arrivals:
        text = json.dumps(body)
        for word in text.replace('"', " ").split():
            if word.startswith("probe-") and word not in out:
                out[word] = at
    return out


def _rules_dir(rid: str, rule_count: int, service_names: list[str] | None = None) -> Path:
    from bench.rules_support import SERVICES, make_rules

    files = {}
    for rule in make_rules(rule_count, service_names or SERVICES):
        doc = rule.model_dump(mode="json", exclude_unset=True, by_alias=True)
        doc.setdefault("alert", "debug")
        files[f"{rule.name}.yaml"] = yaml.safe_dump(doc)
    return _write_rules(rid, files)


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
    """Wait until start-up work is over: under 5% of a CPU used during one second."""
    end = time.monotonic() + deadline_s
    last = _cpu(processes)
    while time.monotonic() < end:
        await asyncio.sleep(1.0)
        cpu = _cpu(processes)
        if cpu - last < 0.05:
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
    start-up, the consumer-group joins and the first commits are outside the window
    (commit granularity no longer cuts the start of the work off either).
    """
    from bench.baselines import server_cpu

    await _settle(processes)
    t0, cpu0 = time.perf_counter(), _cpu(processes)
    server0 = [server_cpu(pid) for pid in servers]
    await send()
    await _until(done, processes, "the drain", 600)
    server_s = sum(server_cpu(pid) - c0 for pid, c0 in zip(servers, server0, strict=True))
    return Timing(events, time.perf_counter() - t0, _cpu(processes) - cpu0, server_s)


def _warmup(count: int) -> int:
    return max(1, count // 50)


async def rules_drain(settings: Settings, events: int, rule_count: int) -> Timing:
    """``--role alerting`` alone draining ``events`` normalized events with ``rule_count``
    rules, until both of its stages committed everything."""
    from bench.baselines import bare_producer
    from bench.rules_support import make_events
    from bitacora.processors.normalize import to_json_bytes

    rid = services.run_id()
    env = services.isolated_env(rid, settings)
    env["BITACORA_RULES_DIR"] = str(_rules_dir(rid, rule_count))
    topics = [env[f"BITACORA_TOPIC_{t}"] for t in ("RAW", "NORMALIZED", "DEADLETTER", "ALERTS")]
    await services.create_topics(settings.kafka_bootstrap, topics, 3)
    warm = _warmup(events)
    values = [
        (e["service.name"].encode(), to_json_bytes(e))
        for e in make_events(warm + events, start=time.time() - (warm + events) * 0.001)
    ]
    topic = env["BITACORA_TOPIC_NORMALIZED"]
    processor = _processor(env, rid, ("alerting",), f"rules{rule_count}")
    try:

        async def done() -> bool:
            return await _alerting_done(settings, env)

        await bare_producer(settings, topic, values[:warm])
        await _until(done, [processor], "the warm-up", 180)
        with MaybeProfile(processor.pid, f"alerting-{rule_count}rules"):
            return await _timed(
                [processor], lambda: bare_producer(settings, topic, values[warm:]), done, events
            )
    finally:
        processor.stop()
        await services.delete_topics(settings.kafka_bootstrap, topics, env["BITACORA_APP_ID"])


async def pipeline_drain(settings: Settings, events: int, rule_count: int) -> Timing:
    """The whole processor (one process per role, as ``bitacora run`` starts them) draining
    ``events`` raw records with ``rule_count`` rules about the run's services, until all
    are searchable and the alerting role committed everything; CPU summed over the roles."""
    from bench.baselines import bare_producer, raw_values, stack_pid
    from bench.forward_client import plan_chunks
    from bench.payloads import service_names
    from bench.processor_bench import start_processors

    rid = services.run_id()
    prefix = f"bench{rid}"
    names = service_names(prefix)
    warm = _warmup(events)
    values = raw_values(plan_chunks(f"rules-{rid}", warm + events, 500, names, seed=17))
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
                await bare_producer(settings, topic, values[:warm])
                await _until(searchable(warm), processes, "the warm-up", 180)
                alerting = processes[-1]
                with MaybeProfile(alerting.pid, f"pipeline-alerting-{rule_count}rules"):
                    return await _timed(
                        processes,
                        lambda: bare_producer(settings, topic, values[warm:]),
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


# Pairs of (1 rule, 50 rules) runs per bench run: the machine is shared, and a run the host
# disturbs (every role slower at once, by up to a third) must not decide the result.
ROUNDS = 3
Pair = tuple[Timing, Timing]


async def _pairs(
    drain: Callable[[Settings, int, int], Awaitable[Timing]], settings: Settings, events: int
) -> list[Pair]:
    """(1 rule, 50 rules) side by side, ``ROUNDS`` times, alternating which runs first
    (1 50, 50 1, 1 50): a drift in the machine's load falls on both sides of a pair alike."""
    if events < 10_000:  # smoke: both at once (the cost below is per CPU-second anyway)
        one, fifty = await asyncio.gather(drain(settings, events, 1), drain(settings, events, 50))
        return [(one, fifty)]
    pairs = []
    for round_ in range(ROUNDS):
        if round_ % 2:
            fifty = await drain(settings, events, 50)
            one = await drain(settings, events, 1)
        else:
            one = await drain(settings, events, 1)
            fifty = await drain(settings, events, 50)
        pairs.append((one, fifty))
    return pairs


def _total(timings: Sequence[Timing]) -> Timing:
    return Timing(
        sum(t.events for t in timings),
        sum(t.wall_s for t in timings),
        sum(t.cpu_s for t in timings),
        sum(t.server_cpu_s for t in timings),
    )


def _cost(pairs: Sequence[Pair], rate: Callable[[Timing], float]) -> list[float]:
    """Per pair, the share of ``rate`` (events per CPU-second, per second…) 50 rules take."""
    return sorted(1 - rate(fifty) / rate(one) for one, fifty in pairs)


def _with_servers(t: Timing) -> float:
    """Events per CPU-second of the processor, Kafka and OpenSearch together."""
    return t.events / (t.cpu_s + t.server_cpu_s)


async def bench_alerting(settings: Settings, events: int, latency_seconds: float) -> list[Row]:
    """Latency p50/p99 and the throughput cost of 50 rules (pipeline and alerting alone)."""
    probes = max(10, int(latency_seconds * 5))
    from bench.e2e_bench import MEASURED

    # Under load: 70% of the end-to-end rate measured in this run (if e2e ran first).
    background = 0.7 * MEASURED.get("e2e_events_per_s", 0.0)
    lat = await alert_latency(settings, probes, 0.2, background)
    alone = await _pairs(rules_drain, settings, events)
    pipe = await _pairs(pipeline_drain, settings, events)
    alone1, alone50 = _total([p[0] for p in alone]), _total([p[1] for p in alone])
    pipe1, pipe50 = _total([p[0] for p in pipe]), _total([p[1] for p in pipe])
    # On a CPU-bound machine throughput is events per CPU-second: the cost of 50 rules is
    # the share of it they take away (wall rates carry the 1 s commit granularity). Each
    # cost is the median over the pairs; the lowest and highest pair are reported too.
    cost = _cost(pipe, lambda t: t.events_per_cpu_s)
    return [
        Row("alert_latency_p50_s", percentile(lat, 0.5), "s"),
        Row("alert_latency_p99_s", percentile(lat, 0.99), "s", target=5.0, higher_is_better=False),
        Row("alert_latency_background_events_per_s", background, "ev/s"),
        Row("pipeline_1rule_events_per_cpu_second", pipe1.events_per_cpu_s, "ev/cpu-s"),
        Row(
            "pipeline_50rules_events_per_cpu_second",
            pipe50.events_per_cpu_s,
            "ev/cpu-s",
            baseline=pipe1.events_per_cpu_s,
        ),
        Row(
            "rules50_throughput_cost",
            statistics.median(cost),
            "frac",
            target=0.15,
            higher_is_better=False,
            low=cost[0],
            high=cost[-1],
            repeats=len(cost),
        ),
        Row("rules50_throughput_cost_lowest_pair", cost[0], "frac"),
        Row("rules50_throughput_cost_highest_pair", cost[-1], "frac"),
        Row(
            "rules50_wall_throughput_cost",
            statistics.median(_cost(pipe, lambda t: t.events_per_s)),
            "frac",
        ),
        # The same with Kafka's and OpenSearch's CPU in the denominator (NaN on a stack that
        # is not ours): what the rules cost a machine running the whole pipeline.
        Row(
            "rules50_stack_throughput_cost",
            statistics.median(_cost(pipe, _with_servers)),
            "frac",
        ),
        Row(
            "rules50_added_cpu_us_per_event",
            statistics.median(
                1e6 * (fifty.cpu_s / fifty.events - one.cpu_s / one.events) for one, fifty in pipe
            ),
            "µs",
        ),
        Row("alerting_1rule_events_per_s", alone1.events_per_s, "ev/s"),
        Row(
            "alerting_50rules_events_per_s",
            alone50.events_per_s,
            "ev/s",
            baseline=alone1.events_per_s,
        ),
        Row("alerting_1rule_events_per_cpu_second", alone1.events_per_cpu_s, "ev/cpu-s"),
        Row(
            "alerting_50rules_events_per_cpu_second",
            alone50.events_per_cpu_s,
            "ev/cpu-s",
            baseline=alone1.events_per_cpu_s,
        ),
        Row(
            "rules50_alerting_role_cost",
            statistics.median(_cost(alone, lambda t: t.events_per_cpu_s)),
            "frac",
        ),
    ]
