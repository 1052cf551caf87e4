"""Paging latency of one unchanged ElastAlert2 rule file: Bitácora vs ElastAlert2 2.19.

Bitácora's pipeline (collector, normalize, index and alerting roles, one process each) and
ElastAlert2 2.19's own daemon (``.venv-elastalert2/bin/elastalert``, built by
``scripts/elastalert2-venv``; ``run_every: 10s``, ``buffer_time: 15 min``, a writeback
index of its own in the same OpenSearch) load the same file: a ``frequency`` rule with a
``query_key`` whose ``post`` alerter calls a receiver served here. ElastAlert2 polls the
data stream the index role writes into; Bitácora evaluates the stream. Each burst sends
``num_events`` errors of a new key through the collector, so each must page exactly once
on each side (the run fails otherwise); its latency on each side is from the send of its
last event to the arrival of that side's POST. The receiver tells the two apart by their
HTTP clients' User-Agent (ElastAlert2's ``requests``, Bitácora's ``aiohttp``). After the
last page the run waits for one more ElastAlert2 run, which a late double would come from.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import subprocess
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiohttp
import yaml
from aiohttp import web

from bench import services
from bench.alert_bench import Webhook
from bench.collector_bench import LOG_DIR, start_collector
from bench.e2e_bench import percentile
from bench.processor_bench import start_processors
from bench.procs import Component
from bench.results import Row
from bench.rules_drains import write_rules
from bitacora.collector.forward.encode import event_time, message
from bitacora.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
EA2_VENV = ROOT / ".venv-elastalert2"
ELASTALERT2, BITACORA = "elastalert2", "bitacora"
RUN_EVERY_S = 10
BUFFER_TIME_MIN = 15
NUM_EVENTS = 5
SPACING_S = 6.0  # between bursts: not a multiple of ElastAlert2's 10-15 s between runs
TOPICS = ("RAW", "NORMALIZED", "DEADLETTER", "ALERTS")

RULE = """\
name: bench-ea2-burst
type: frequency
index: "{index}"
num_events: {num_events}
timeframe:
  minutes: 1
query_key: trace.id
filter:
  - term:
      service.name: "{service}"
alert: post
http_post_url: "{url}/hook"
"""


class PagingError(RuntimeError):
    """A burst paged other than exactly once on one side."""


@dataclass(frozen=True)
class Arrival:
    """One POST the receiver got: when (monotonic), its User-Agent, its body."""

    at: float
    agent: str
    body: object


@dataclass(frozen=True)
class Page:
    """A POST attributed to a system and to the burst key it names (None: no such key)."""

    at: float
    system: str
    key: str | None


def system_of(agent: str) -> str:
    """Which side sent a POST, from its User-Agent: ElastAlert2 posts with ``requests``,
    Bitácora with ``aiohttp``; anything else is ``unknown``."""
    if agent.startswith("python-requests/"):
        return ELASTALERT2
    return BITACORA if "aiohttp/" in agent else "unknown"


def key_of(body: object, keys: Collection[str]) -> str | None:
    """The key of ``keys`` that the POST body carries as a JSON string value, if any."""
    text = json.dumps(body)
    return next((key for key in keys if json.dumps(key) in text), None)


def pages_of(arrivals: Sequence[Arrival], keys: Collection[str]) -> list[Page]:
    """The arrivals as pages of ``keys`` (a page of another key gets ``key=None``)."""
    return [Page(a.at, system_of(a.agent), key_of(a.body, keys)) for a in arrivals]


def page_counts(pages: Sequence[Page], keys: Sequence[str], system: str) -> dict[str, int]:
    """How many pages ``system`` sent for each key."""
    counts = dict.fromkeys(keys, 0)
    for page in pages:
        if page.system == system and page.key in counts:
            counts[page.key] += 1
    return counts


def latencies(sent: Mapping[str, float], pages: Sequence[Page], system: str) -> list[float]:
    """Each burst's time from its last send to ``system``'s page, in the order of ``sent``;
    raises :class:`PagingError` unless every burst paged exactly once."""
    counts = page_counts(pages, list(sent), system)
    wrong = {key: n for key, n in counts.items() if n != 1}
    if wrong:
        raise PagingError(f"{system}: pages per burst {wrong}, expected exactly 1 each")
    arrived = {p.key: p.at for p in pages if p.system == system and p.key in sent}
    return [arrived[key] - at for key, at in sent.items()]


def paging_rows(sent: Mapping[str, float], pages: Sequence[Page], run_every_s: float) -> list[Row]:
    """The benchmark's rows: each side's median, fastest and slowest latency, pages per
    burst (1: checked), the ratio of the medians, the bursts and ElastAlert2's run_every."""
    ea2, ours = latencies(sent, pages, ELASTALERT2), latencies(sent, pages, BITACORA)
    rows = []
    for name, values in (("ea2", ea2), ("bitacora", ours)):
        rows += [
            Row(f"{name}_paging_latency_p50_s", percentile(values, 0.5), "s"),
            Row(f"{name}_paging_latency_min_s", min(values), "s"),
            Row(f"{name}_paging_latency_max_s", max(values), "s"),
            Row(f"{name}_pages_per_burst", len(values) / len(sent), "pages"),
        ]
    ratio = percentile(ea2, 0.5) / percentile(ours, 0.5)
    return [
        *rows,
        Row("ea2_vs_bitacora_paging_latency_p50", ratio, "x"),
        Row("ea2_bursts", float(len(sent)), "bursts"),
        Row("ea2_run_every_s", run_every_s, "s"),
    ]


def ea2_config(settings: Settings, rules_dir: Path, writeback: str) -> dict[str, Any]:
    """ElastAlert2's global config for the run: Bitácora's OpenSearch, ``run_every`` 10 s,
    ``buffer_time`` 15 min (its example config's), the run's own writeback index."""
    url = urlparse(settings.opensearch_url)
    config: dict[str, Any] = {
        "rules_folder": str(rules_dir),
        "run_every": {"seconds": RUN_EVERY_S},
        "buffer_time": {"minutes": BUFFER_TIME_MIN},
        "es_host": url.hostname or "127.0.0.1",
        "es_port": url.port or (443 if url.scheme == "https" else 9200),
        "writeback_index": writeback,
        "alert_time_limit": {"days": 2},
    }
    if url.scheme == "https":
        config["use_ssl"] = True
        config["verify_certs"] = settings.opensearch_verify_certs
        if settings.opensearch_ca_file is not None:
            config["ca_certs"] = str(settings.opensearch_ca_file)
    if settings.opensearch_user and settings.opensearch_password is not None:
        config["es_username"] = settings.opensearch_user
        config["es_password"] = settings.opensearch_password.get_secret_value()
    return config


class Receiver(Webhook):
    """The loopback webhook, keeping each POST's User-Agent."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[Arrival] = []

    def record(self, at: float, request: web.Request, body: object) -> None:
        """Keep one POST with the User-Agent that tells which side sent it."""
        self.posts.append(Arrival(at, request.headers.get("User-Agent", ""), body))


async def start_elastalert2(config: Path, rule: Path, rid: str) -> Component:
    """Create ElastAlert2's writeback indices (``elastalert-create-index``, as its users
    do) and start its daemon on the one rule."""
    if not (EA2_VENV / "bin" / "elastalert").exists():
        await asyncio.to_thread(
            subprocess.run, ["sh", str(ROOT / "scripts" / "elastalert2-venv")], check=True
        )
    log = LOG_DIR / f"elastalert2-{rid}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        created = await asyncio.to_thread(
            subprocess.run,
            [str(EA2_VENV / "bin" / "elastalert-create-index"), "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
        )
    if created.returncode != 0:
        raise RuntimeError(f"elastalert-create-index failed:\n{log.read_text()[-3000:]}")
    args = ["--config", str(config), "--rule", str(rule), "--verbose"]
    return Component(
        "elastalert2", args, {}, log, program=str(EA2_VENV / "bin" / "elastalert")
    ).start()


def _burst(service: str, key: str, n: int) -> list[bytes]:
    out = []
    for i in range(n):
        ns = time.time_ns()
        record = {
            "level": "ERROR",
            "message": f"bench {key} failed ({i + 1} of {n})",
            "service": service,
            "trace_id": key,
        }
        out.append(message(f"{service}.app", event_time(ns // 10**9, ns % 10**9), record))
    return out


async def _send_burst(writer: asyncio.StreamWriter, service: str, key: str) -> float:
    """Write one burst; the monotonic time its last event was sent."""
    *first, last = _burst(service, key, NUM_EVENTS)
    writer.write(b"".join(first))
    await writer.drain()
    sent = time.monotonic()
    writer.write(last)
    await writer.drain()
    return sent


def _check_alive(components: Sequence[Component], what: str) -> None:
    for component in components:
        if not component.alive():
            code = component.proc.returncode if component.proc else None
            raise RuntimeError(f"{component.name} exited ({code}) {what}:\n{component.log_tail()}")


async def _ea2_ran_after(
    session: aiohttp.ClientSession, url: str, writeback: str, wall: float
) -> bool:
    """Whether ElastAlert2 finished a run whose query ended after ``wall`` (epoch s)."""
    since = datetime.datetime.fromtimestamp(wall, datetime.UTC).isoformat()
    status, payload = await services.os_request(
        session,
        "POST",
        f"{url}/{writeback}_status/_search?ignore_unavailable=true",
        {"size": 0, "track_total_hits": True, "query": {"range": {"endtime": {"gt": since}}}},
    )
    return status == 200 and int(payload["hits"]["total"]["value"]) > 0


async def paging_latency(
    settings: Settings, bursts: int, spacing_s: float = SPACING_S
) -> list[Row]:
    """Run both systems on one rule file, send ``bursts`` bursts ``spacing_s`` apart."""
    rid = services.run_id()
    service, writeback = f"bench{rid}-ea2", f"bench{rid}-ea2-writeback"
    pattern = f"logs-bench{rid}-*"
    hook = Receiver()
    await hook.start()
    rule = RULE.format(index=pattern, num_events=NUM_EVENTS, service=service, url=hook.url)
    rules_dir = write_rules(rid, {"burst.yaml": rule})
    config = rules_dir.parent / "elastalert2.yaml"
    config.write_text(yaml.safe_dump(ea2_config(settings, rules_dir, writeback)))
    components: list[Component] = []
    topics: list[str] = []
    app_id: str | None = None
    async with aiohttp.ClientSession() as session:
        try:
            run = await start_collector(settings, rid, {"BITACORA_RULES_DIR": str(rules_dir)})
            components.append(run.component)
            app_id = run.env["BITACORA_APP_ID"]
            topics = [run.env[f"BITACORA_TOPIC_{t}"] for t in TOPICS]
            await services.create_topics(settings.kafka_bootstrap, topics, 3)
            components += start_processors(run.env, rid, ("normalize", "index", "alerting"))
            components.append(await start_elastalert2(config, rules_dir / "burst.yaml", rid))
            sent = await _bursts(
                run.forward_port, service, rid, bursts, spacing_s, hook, components
            )
            settled = time.time()
            end = time.monotonic() + 4 * RUN_EVERY_S
            while not await _ea2_ran_after(session, settings.opensearch_url, writeback, settled):
                _check_alive(components, "after the bursts")
                if time.monotonic() > end:
                    raise RuntimeError("ElastAlert2 did not run again after the last page")
                await asyncio.sleep(0.5)
            return paging_rows(sent, pages_of(hook.posts, list(sent)), RUN_EVERY_S)
        finally:
            for component in reversed(components):
                component.stop()
            await hook.stop()
            await services.os_delete_streams(session, settings.opensearch_url, pattern)
            await services.os_delete_streams(session, settings.opensearch_url, f"{writeback}*")
            if topics:
                await services.delete_topics(settings.kafka_bootstrap, topics, app_id)


async def _bursts(
    port: int,
    service: str,
    rid: str,
    bursts: int,
    spacing_s: float,
    hook: Receiver,
    components: Sequence[Component],
) -> dict[str, float]:
    """Warm up, send the bursts, wait for their pages; each burst's last send time."""
    sent: dict[str, float] = {}
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await _warm_up(writer, service, rid, hook, components)
        for i in range(bursts):
            if i:
                await asyncio.sleep(spacing_s)
            key = f"burst-{rid}-{i}"
            sent[key] = await _send_burst(writer, service, key)
        await _until_paged(hook, sent, components)
    finally:
        writer.close()
    return sent


async def _warm_up(
    writer: asyncio.StreamWriter,
    service: str,
    rid: str,
    hook: Receiver,
    components: Sequence[Component],
) -> None:
    """Send warm-up bursts until both sides have paged once (consumer groups joined,
    ElastAlert2's first runs done); their pages are not counted."""
    end = time.monotonic() + 120
    last_sent, n = 0.0, 0
    while not {ELASTALERT2, BITACORA} <= {system_of(a.agent) for a in hook.posts}:
        _check_alive(components, "during the warm-up")
        if time.monotonic() > end:
            raise RuntimeError(
                "no page from both sides within 120 s of the warm-up:\n"
                + "\n".join(c.log_tail(10) for c in components)
            )
        got = {system_of(a.agent) for a in hook.posts}
        if BITACORA not in got and time.monotonic() - last_sent > 2:
            await _send_burst(writer, service, f"warm-{rid}-{n}")
            last_sent, n = time.monotonic(), n + 1
        await asyncio.sleep(0.2)


async def _until_paged(
    hook: Receiver, sent: Mapping[str, float], components: Sequence[Component]
) -> None:
    """Poll until each side paged for every burst (or fail after 4 runs of ElastAlert2)."""
    end = time.monotonic() + 4 * RUN_EVERY_S + 10
    while True:
        pages = pages_of(hook.posts, list(sent))
        done = [
            min(page_counts(pages, list(sent), system).values()) >= 1
            for system in (ELASTALERT2, BITACORA)
        ]
        if all(done):
            return
        _check_alive(components, "while waiting for pages")
        if time.monotonic() > end:
            counts = {s: page_counts(pages, list(sent), s) for s in (ELASTALERT2, BITACORA)}
            raise PagingError(f"bursts left without a page: {counts}")
        await asyncio.sleep(0.05)


async def bench_ea2(settings: Settings, bursts: int) -> list[Row]:
    """The paging rows of one run of ``bursts`` bursts."""
    return await paging_latency(settings, bursts)
