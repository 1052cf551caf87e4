"""Alerting: event-to-webhook latency, and what 50 rules cost (``bench.rules_cost``).

Latency: collector → normalize → alerting with an ``any`` rule (realert 0, one alert per
probe) posting to a webhook served here, over 70% of the end-to-end rate of other traffic
when the end-to-end benchmark ran before; each probe's latency is from its write to the
collector until its POST arrives.
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from bench import services
from bench.collector_bench import start_collector
from bench.e2e_bench import percentile
from bench.forward_client import build_chunks, paced_send
from bench.procs import free_port
from bench.profile import MaybeProfile
from bench.results import Row
from bench.rules_cost import rules_cost_rows
from bench.rules_drains import start_processor, write_rules
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
        self.record(now, request, body)
        return web.json_response({"ok": True})

    def record(self, at: float, request: web.Request, body: object) -> None:
        """Keep one POST (its arrival time and parsed body)."""
        self.arrivals.append((at, body))

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


async def alert_latency(
    settings: Settings, probes: int, interval_s: float, background_rate: float = 0.0
) -> list[float]:
    """Send ``probes`` error events ``interval_s`` apart, over ``background_rate`` events/s
    of ordinary traffic; each probe's time from write to webhook."""
    rid = services.run_id()
    hook = Webhook()
    await hook.start()
    service = f"bench{rid}-probe"
    rules_dir = write_rules(rid, {"probe.yaml": PROBE_RULE.format(service=service, url=hook.url)})
    run = await start_collector(settings, rid, {"BITACORA_RULES_DIR": str(rules_dir)})
    env = run.env
    topics = [env[f"BITACORA_TOPIC_{t}"] for t in ("RAW", "NORMALIZED", "DEADLETTER", "ALERTS")]
    await services.create_topics(settings.kafka_bootstrap, topics, 3)
    processor = start_processor(env, rid, ("normalize", "alerting"), "alerting")
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


async def bench_alerting(
    settings: Settings, events: int, latency_seconds: float, cpu_events: int
) -> list[Row]:
    """Latency p50/p99 under load and the cost of 50 rules (``bench.rules_cost``): the
    alerting role's CPU per event over ``cpu_events`` per run, the whole processor's
    throughput over ``events`` per run."""
    probes = max(10, int(latency_seconds * 5))
    from bench.e2e_bench import MEASURED

    # Under load: 70% of the end-to-end rate measured in this run (if e2e ran first).
    background = 0.7 * MEASURED.get("e2e_events_per_s", 0.0)
    lat = await alert_latency(settings, probes, 0.2, background)
    return [
        Row("alert_latency_p50_s", percentile(lat, 0.5), "s"),
        Row("alert_latency_p99_s", percentile(lat, 0.99), "s", target=1.0, higher_is_better=False),
        Row("alert_latency_background_events_per_s", background, "ev/s"),
        *await rules_cost_rows(settings, events, cpu_events),
    ]
