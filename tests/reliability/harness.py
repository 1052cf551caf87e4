"""Helpers of the fault suite: isolated components as subprocesses, exact counting.

Every record the suite sends carries ``source`` (one id per sender) and ``seq`` (0..n-1),
so what reached Kafka or OpenSearch is compared with what was acknowledged exactly:
``lost`` = acknowledged but absent, ``duplicated`` = present more than once.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import services
from bench.procs import Component, free_port, wait_port
from bench.services import group_lag
from bitacora import rawrecord
from bitacora.processors.storage.bulk import record_sources
from bitacora.settings import Settings
from bitacora.stack.config import KAFKA_PORT_OFFSETS, OPENSEARCH_PORT_OFFSETS

LOG_DIR = Path("/tmp/bitacora-reliability")
__all__ = ["LOG_DIR", "Pipeline", "group_lag"]  # group_lag: re-exported for other suites


@dataclass
class Pipeline:
    """One isolated set of topics, ports and components (collector and/or processor)."""

    settings: Settings
    rid: str = field(default_factory=services.run_id)
    extra_env: dict[str, str] = field(default_factory=dict)
    forward_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    otlp_http_port: int = field(default_factory=free_port)
    otlp_grpc_port: int = field(default_factory=free_port)
    syslog_port: int = field(default_factory=free_port)
    syslog_tls_port: int = field(default_factory=free_port)
    components: dict[str, Component] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The environment of every component of this pipeline."""
        env = services.isolated_env(
            self.rid,
            self.settings,
            forward=self.forward_port,
            http=self.http_port,
            otlp_http=self.otlp_http_port,
            otlp_grpc=self.otlp_grpc_port,
            syslog=self.syslog_port,
            syslog_tls=self.syslog_tls_port,
        )
        env["BITACORA_APP_ID"] = f"rel-{self.rid}"
        env["BITACORA_PROCESSOR_DATA_DIR"] = str(LOG_DIR / self.rid / "faust")
        env["BITACORA_BULK_MAX_WAIT_S"] = "0.2"
        env.update(self.extra_env)
        return env

    @property
    def topics(self) -> list[str]:
        """The run's topics."""
        return [
            self.env[f"BITACORA_TOPIC_{t}"] for t in ("RAW", "NORMALIZED", "DEADLETTER", "ALERTS")
        ]

    @property
    def prefix(self) -> str:
        """Service-name prefix of this run: its data streams are ``logs-<prefix>-*``."""
        return f"rel{self.rid}"

    @property
    def pattern(self) -> str:
        """The data streams of this run."""
        return f"logs-{self.prefix}-*"

    async def create_topics(self) -> None:
        """Create the run's topics (before any component starts)."""
        await services.create_topics(self.settings.kafka_bootstrap, self.topics, 3)

    def start_collector(self, name: str = "collector", deadline_s: float = 30) -> Component:
        """``bitacora collector``; returns once the forward and HTTP ports accept connections."""
        c = Component(name, ["collector"], self.env, LOG_DIR / self.rid / f"{name}.log").start()
        self.components[name] = c
        try:
            wait_port(self.forward_port, deadline_s, c.proc)
            wait_port(self.http_port, deadline_s, c.proc)
            wait_port(self.otlp_http_port, deadline_s, c.proc)
            wait_port(self.syslog_port, deadline_s, c.proc)
        except Exception as exc:
            raise AssertionError(f"collector did not start: {exc}\n{c.log_tail()}") from None
        return c

    def start_processor(
        self, name: str = "processor", roles: Iterable[str] = ("normalize", "index")
    ) -> Component:
        """``bitacora processor --role ...`` (does not wait: faust joins its group lazily)."""
        args = ["processor"]
        for role in roles:
            args += ["--role", role]
        env = {"BITACORA_PROCESSOR_HTTP_PORT": str(free_port()), **self.env}
        Path(env["BITACORA_PROCESSOR_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        c = Component(name, args, env, LOG_DIR / self.rid / f"{name}.log").start()
        self.components[name] = c
        return c

    def assert_alive(self) -> None:
        """Fail with the log tail of any component that died unexpectedly."""
        for c in self.components.values():
            if c.proc is not None and c.proc.returncode is None and not c.alive():
                raise AssertionError(f"{c.name} exited with {c.proc.returncode}:\n{c.log_tail()}")

    async def cleanup(self) -> None:
        """Stop every component, delete the run's topics, consumer groups and data streams."""
        for c in self.components.values():
            c.stop(10)
        await services.delete_topics(
            self.settings.kafka_bootstrap, self.topics, self.env["BITACORA_APP_ID"]
        )
        async with aiohttp.ClientSession() as session:
            await services.os_delete_streams(session, self.settings.opensearch_url, self.pattern)
            # The workers' health events (service = the app id), when an index role ran.
            app_streams = f"logs-{self.env['BITACORA_APP_ID']}"
            await services.os_delete_streams(session, self.settings.opensearch_url, app_streams)


async def read_topic(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    """Every (key, value) currently in ``topic``, read from the beginning without a group."""
    return [(r.key, r.value) for r in await read_records(bootstrap, topic)]


async def read_raw_events(bootstrap: str, topic: str) -> list[rawrecord.RawRecord]:
    """Every raw record currently in the logs.raw ``topic`` (bundles read event by event);
    fails on an event that does not decode."""
    return raw_events(await read_records(bootstrap, topic))


def raw_events(records: list[Any]) -> list[rawrecord.RawRecord]:
    """The raw records of logs.raw ``records`` (bundles or not), in order; fails on any
    event that does not decode."""
    out = []
    for record in records:
        for _piece, raw in rawrecord.events_of(record.value, record.headers):
            assert isinstance(raw, rawrecord.RawRecord), raw
            out.append(raw)
    return out


async def read_normalized(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every normalized document currently in the logs.normalized ``topic``, parsed."""
    return [
        json.loads(doc)
        for r in await read_records(bootstrap, topic)
        for doc in record_sources(r.value, r.headers)
    ]


async def read_records(bootstrap: str, topic: str) -> list[Any]:
    """Every record currently in ``topic``, read from the beginning without a group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[Any] = []
        deadline = time.monotonic() + 60
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise AssertionError(f"reading {topic} took over 60 s")
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for records in batch.values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()


def _text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def raw_seqs(raws: Iterable[rawrecord.RawRecord], source: str) -> Counter[int]:
    """How often each ``seq`` of ``source`` appears among raw records (collector output)."""
    seen: Counter[int] = Counter()
    for raw in raws:
        record = {_text(k): v for k, v in raw.record.items()}
        if _text(record.get("source")) == source:
            seen[int(record["seq"])] += 1
    return seen


def _find(doc: dict[str, Any], name: str) -> Any:
    """A record field in a normalized document: top level, dotted, or under ``labels``."""
    if name in doc:
        return doc[name]
    labels = doc.get("labels")
    if isinstance(labels, dict) and name in labels:
        return labels[name]
    return None


async def indexed_seqs(
    session: aiohttp.ClientSession, url: str, pattern: str, source: str
) -> Counter[int]:
    """How often each ``seq`` of ``source`` is in ``pattern`` (exact: reads every document).

    Refreshes first, so the answer is exact for everything indexed so far.
    """
    await services.os_refresh(session, url, pattern)
    seen: Counter[int] = Counter()
    search_after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": 5000,
            "query": {"match_phrase": {"labels.source": source}},
            "sort": [{"event.id": "asc"}],
            "_source": ["labels.source", "labels.seq", "source", "seq"],
        }
        if search_after is not None:
            body["search_after"] = search_after
        status, payload = await services.os_request(
            session,
            "POST",
            f"{url}/{pattern}/_search?ignore_unavailable=true&allow_no_indices=true",
            body,
        )
        if status == 503 and not seen:
            # A data stream created a moment ago: its shard is not started yet, so nothing
            # of it is searchable yet (callers poll).
            return seen
        if status != 200:
            raise AssertionError(f"search {pattern}: HTTP {status}: {payload}")
        hits = payload["hits"]["hits"]
        for hit in hits:
            doc = hit["_source"]
            if str(_find(doc, "source")) == source:
                seen[int(_find(doc, "seq"))] += 1
        if len(hits) < 5000:
            return seen
        search_after = hits[-1]["sort"]


def loss_and_duplicates(
    expected: Iterable[int], seen: Counter[int]
) -> tuple[list[int], dict[int, int]]:
    """(acknowledged seqs missing, seq → copies for those present more than once)."""
    lost = sorted(s for s in expected if seen[s] == 0)
    duplicated = {s: n for s, n in seen.items() if n > 1}
    return lost, duplicated


async def metric(http_port: int, name: str, **labels: str) -> float:
    """A value from the collector's ``/metrics`` (summed over series matching ``labels``)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{http_port}/metrics") as r,
    ):
        text = await r.text()
        if r.status != 200:
            raise AssertionError(f"GET /metrics answered {r.status}: {text[:300]}")
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        match = re.fullmatch(rf"{re.escape(name)}(\{{.*\}})? ([0-9.e+-]+)", line)
        if not match:
            continue
        series = match.group(1) or ""
        if all(f'{k}="{v}"' in series for k, v in labels.items()):
            total += float(match.group(2))
    return total


async def wait_until(check: Any, deadline_s: float, what: str, every_s: float = 0.2) -> Any:
    """Poll the coroutine function ``check`` until it returns something truthy."""
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every_s)
    raise AssertionError(f"timed out after {deadline_s} s waiting for {what} (last: {last!r})")


async def all_docs(
    session: aiohttp.ClientSession,
    url: str,
    pattern: str,
    query: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every document of ``pattern`` matching ``query`` (after a refresh); for small sets.

    Fails when more than 10,000 match rather than return part of them: narrow the query to
    the run (shared patterns such as ``bitacora-alerts*`` grow with every run on a stack).
    """
    await services.os_refresh(session, url, pattern)
    status, payload = await services.os_request(
        session,
        "POST",
        f"{url}/{pattern}/_search?ignore_unavailable=true&allow_no_indices=true",
        {"size": 10_000, "track_total_hits": True, "query": query or {"match_all": {}}},
    )
    if status != 200:
        raise AssertionError(f"search {pattern}: HTTP {status}: {payload}")
    hits = payload["hits"]
    if hits["total"]["value"] > len(hits["hits"]):
        raise AssertionError(
            f"{hits['total']['value']} documents match in {pattern}: narrow the query to the run"
        )
    return [h["_source"] for h in hits["hits"]]


@contextmanager
def private_stack(
    base: Settings, services_: tuple[str, ...], state_dir: Path
) -> Iterator[Settings]:
    """Our own Kafka and/or OpenSearch on other ports (``bitacora.stack``), so a scenario
    can stop them without touching the shared stack other tests use; always stopped after.

    Services not listed stay those of ``base``.
    """
    from bitacora.stack.services import start_service, stop_service

    changes: dict[str, Any] = {
        "state_dir": state_dir,
        "kafka_heap": "512m",
        "opensearch_heap": "1g",
    }
    if "kafka" in services_:
        changes["kafka_bootstrap"] = f"127.0.0.1:{free_port(KAFKA_PORT_OFFSETS)}"
    if "opensearch" in services_:
        changes["opensearch_url"] = f"http://127.0.0.1:{free_port(OPENSEARCH_PORT_OFFSETS)}"
    settings = base.model_copy(update=changes)
    try:
        for service in services_:
            start_service(settings, service)
        yield settings
    finally:
        for service in services_:
            stop_service(settings, service)


def deadletter_texts(value: bytes | dict[str, Any]) -> str:
    """A dead letter as searchable text: its JSON plus its base64 ``original`` decoded
    (kept base64-encoded, possibly truncated: a secret inside is still there)."""
    import base64
    import json

    doc: dict[str, Any] = json.loads(value) if isinstance(value, bytes) else value
    text = json.dumps(doc, ensure_ascii=False)
    nested = doc.get("deadletter")
    inner: dict[str, Any] = nested if isinstance(nested, dict) else doc
    original = inner.get("original")
    if isinstance(original, str):
        usable = original[: len(original) // 4 * 4]  # a truncated original: whole quanta only
        with suppress(ValueError):
            text += "\n" + base64.b64decode(usable, validate=True).decode(
                "utf-8", "surrogateescape"
            )
    return text


def deadletter_reason(value: bytes) -> str:
    """The reason of a dead letter (either shape: flat, or under ``deadletter``)."""
    import json

    doc: dict[str, Any] = json.loads(value)
    nested = doc.get("deadletter")
    inner: dict[str, Any] = nested if isinstance(nested, dict) else doc
    return str(inner.get("reason", "?"))


def mentions_seq(text: str, seq: int) -> bool:
    """Whether decoded dead-letter text carries ``seq`` (JSON or msgpack ``"seq"`` + int)."""
    import msgpack

    packed = msgpack.packb("seq") + msgpack.packb(seq)
    raw = text.encode("utf-8", "surrogateescape")
    return f'"seq": {seq},' in text or f'"seq":{seq},' in text or packed in raw
