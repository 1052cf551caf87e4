"""Alerting: event-to-webhook latency and what 50 rules cost.

1. Latency: collector → normalize → alerting with an ``any`` rule (realert 0, one alert per
   probe) posting to a webhook served here; each probe's latency is from its write to the
   collector until its POST arrives.
2. Cost of rules: the alerting stage alone (``--role alerting``) drains the same backlog of
   normalized events (``rules.bench_support.make_events``) once with 1 rule and once with
   50 (``make_rules(50)``); cost = 1 - (events per CPU-second with 50) / (with 1), the
   throughput lost on a CPU-bound machine.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import yaml
from aiohttp import web

from bench import services
from bench.collector_bench import LOG_DIR, start_collector
from bench.e2e_bench import percentile
from bench.forward_client import build_chunks, paced_send
from bench.procs import Component, free_port
from bench.profile import MaybeProfile
from bench.results import Row
from bitacora import schema
from bitacora.settings import Settings
from collector.forward.encode import event_time, message

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
    env = {**env, "BITACORA_PROCESSOR_WEB_PORT": str(free_port())}
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
        await services.delete_topics(settings.kafka_bootstrap, topics)


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


async def rules_drain(settings: Settings, events: int, rule_count: int) -> tuple[float, float]:
    """(events/s, events per CPU-second) of ``--role alerting`` draining ``events`` with
    ``rule_count`` rules from ``make_rules``."""
    from processors.normalize import to_json_bytes
    from rules.bench_support import make_events, make_rules

    rid = services.run_id()
    files = {}
    for rule in make_rules(rule_count):
        doc = rule.model_dump(mode="json", exclude_unset=True, by_alias=True)
        doc.setdefault("alert", "debug")
        files[f"{rule.name}.yaml"] = yaml.safe_dump(doc)
    rules_dir = _write_rules(rid, files)
    env = services.isolated_env(rid, settings)
    env["BITACORA_RULES_DIR"] = str(rules_dir)
    topics = [env[f"BITACORA_TOPIC_{t}"] for t in ("RAW", "NORMALIZED", "DEADLETTER", "ALERTS")]
    await services.create_topics(settings.kafka_bootstrap, topics, 3)
    now = time.time()
    values = [
        (e["service.name"].encode(), to_json_bytes(e))
        for e in make_events(events, start=now - events * 0.001)
    ]
    from bench.baselines import bare_producer

    await bare_producer(settings, env["BITACORA_TOPIC_NORMALIZED"], values)
    group = schema.consumer_group(env["BITACORA_APP_ID"], "alerting")
    processor = _processor(env, rid, ("alerting",), f"rules{rule_count}")
    profile = MaybeProfile(processor.pid, f"alerting-{rule_count}rules")
    profile.__enter__()
    try:
        start: tuple[float, float, int] | None = None
        end = time.monotonic() + 600
        lag = events
        while time.monotonic() < end:
            lag = await services.group_lag(
                settings.kafka_bootstrap, group, env["BITACORA_TOPIC_NORMALIZED"]
            )
            now_t, cpu = time.perf_counter(), processor.cpu()
            # The window opens at the last sample before consumption began (start-up excluded).
            if start is None or lag >= events * 0.99:
                start = (now_t, cpu, lag)
            if lag == 0:
                break
            if not processor.alive():
                raise RuntimeError(f"alerting died:\n{processor.log_tail()}")
            await asyncio.sleep(0.1)
        if lag != 0 or start is None:
            raise RuntimeError(f"alerting did not drain: lag {lag}")
        t0, cpu0, lag0 = start
        wall, cpu = time.perf_counter() - t0, processor.cpu() - cpu0
        return lag0 / wall, lag0 / cpu
    finally:
        profile.__exit__(None, None, None)
        processor.stop()
        await services.delete_topics(settings.kafka_bootstrap, topics)


async def bench_alerting(settings: Settings, events: int, latency_seconds: float) -> list[Row]:
    """Latency p50/p99 and the throughput cost of 50 rules."""
    probes = max(10, int(latency_seconds * 5))
    from bench.e2e_bench import MEASURED

    # Under load: 70% of the end-to-end rate measured in this run (if e2e ran first).
    background = 0.7 * MEASURED.get("e2e_events_per_s", 0.0)
    lat = await alert_latency(settings, probes, 0.2, background)
    if events < 10_000:  # smoke: both at once (the cost below is per CPU-second anyway)
        (eps1, epc1), (eps50, epc50) = await asyncio.gather(
            rules_drain(settings, events, 1), rules_drain(settings, events, 50)
        )
    else:
        eps1, epc1 = await rules_drain(settings, events, 1)
        eps50, epc50 = await rules_drain(settings, events, 50)
    return [
        Row("alert_latency_p50_s", percentile(lat, 0.5), "s"),
        Row("alert_latency_p99_s", percentile(lat, 0.99), "s", target=5.0, higher_is_better=False),
        Row("alert_latency_background_events_per_s", background, "ev/s"),
        Row("alerting_1rule_events_per_s", eps1, "ev/s"),
        Row("alerting_50rules_events_per_s", eps50, "ev/s", baseline=eps1),
        Row("alerting_50rules_events_per_cpu_second", epc50, "ev/cpu-s", baseline=epc1),
        # On a CPU-bound machine throughput is events per CPU-second: the cost of 50 rules
        # is the share of it they take away (wall rates carry the 1 s commit granularity).
        Row(
            "rules50_throughput_cost", 1 - epc50 / epc1, "frac", target=0.15, higher_is_better=False
        ),
        Row("rules50_wall_throughput_cost", 1 - eps50 / eps1, "frac"),
    ]
