"""Baselines measured in the same run: what a bare client achieves on the same payloads.

- ``bare_producer``: one aiokafka producer with the collector's settings (acks=all,
  idempotence, linger, batch size, compression) sending the raw records the collector
  would write, with no network server, decoding or acking in front of it.
- ``raw_bulk``: ``bench.rawload``: prebuilt ``_bulk`` bodies POSTed with
  aiohttp, the fastest a Python client pushes the same normalized documents. Its window
  ends when every document is searchable, as the pipeline's does (polled the same way,
  every 0.1 s), so both rates include one refresh; ``acked_wall_s`` is when OpenSearch
  answered the last bulk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from bench import services
from bench.forward_client import Planned
from bitacora import bundles, clients
from bitacora.rawrecord import RawRecord, encode
from bitacora.settings import Settings


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall and CPU seconds (of this process) for ``events`` events."""

    events: int
    wall_s: float
    cpu_s: float
    server_cpu_s: float = float("nan")  # Kafka's or OpenSearch's JVM, when it is ours
    acked_wall_s: float = float("nan")  # raw bulk: until the last bulk was answered

    @property
    def events_per_s(self) -> float:
        """Throughput."""
        return self.events / self.wall_s if self.wall_s > 0 else float("nan")

    @property
    def acked_events_per_s(self) -> float:
        """Throughput up to the last answer (raw bulk), not to searchable."""
        return self.events / self.acked_wall_s if self.acked_wall_s > 0 else float("nan")

    @property
    def events_per_cpu_s(self) -> float:
        """Efficiency."""
        return self.events / self.cpu_s if self.cpu_s > 0 else float("nan")


def stack_pid(settings: Settings, service: str) -> int | None:
    """The pid of the local stack's ``service`` ("kafka" or "opensearch"), if it runs here."""
    try:
        from bitacora.stack.services import status

        for entry in status(settings):
            if entry.service == service and entry.running:
                return entry.pid
    except Exception:  # a stack we did not start (Docker, remote): no server CPU figures
        return None
    return None


def server_cpu(pid: int | None) -> float:
    """CPU seconds of a server process so far (NaN when unknown)."""
    from bench.procs import cpu_seconds

    if pid is None:
        return float("nan")
    try:
        return cpu_seconds(pid)
    except OSError:
        return float("nan")


def raw_values(plans: Sequence[Planned]) -> list[tuple[bytes, bytes]]:
    """(key, value) as the collector writes them to ``logs.raw`` for the planned chunks:
    the events of a chunk share its received time, as those of one forward request do."""
    out = []
    for tag, events in plans:
        service = tag.split(".", 1)[0].encode()
        chunk = f"{events[0][1]['source']}-{events[0][1]['seq']:010d}\n"
        received_ns = time.time_ns()
        for position, (time_ns, rec) in enumerate(events):
            raw = RawRecord(tag, time_ns, rec, received_ns, "127.0.0.1", "forward", chunk, position)
            out.append((service, encode(raw)))
    return out


def raw_bundles(plans: Sequence[Planned]) -> list[tuple[bytes, bytes, int]]:
    """(key, value, events) as the collector writes them to ``logs.raw`` for the planned
    chunks: each chunk's raw records bundled per service (``collector.records.bundle``)."""
    from bitacora.collector.records import bundle

    limit = Settings().kafka_record_limit
    return [item for plan in plans for item in bundle(raw_values([plan]), limit)]


async def bare_producer(
    settings: Settings, topic: str, records: Sequence[tuple[bytes, bytes, int]]
) -> Timing:
    """Produce ``records`` (key, value, events: :func:`raw_bundles`) to ``topic`` with the
    collector's producer settings; wait for all."""
    compression = (
        settings.kafka_compression
        if settings.kafka_compression in ("gzip", "snappy", "lz4", "zstd")
        else None
    )
    producer = clients.kafka_producer(
        settings,
        acks="all",
        enable_idempotence=True,
        compression_type=compression,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=settings.kafka_max_batch_bytes,
        max_request_size=settings.kafka_max_batch_bytes + 65536,
    )
    await producer.start()
    try:
        await producer.partitions_for(topic)  # metadata outside the timed part
        key, value, events = records[0]
        await producer.send_and_wait(topic, value, key=key, headers=bundles.header(events))
        kafka = stack_pid(settings, "kafka")
        cpu0, t0, k0 = time.process_time(), time.perf_counter(), server_cpu(kafka)
        futures = [
            await producer.send(topic, value, key=key, headers=bundles.header(events))
            for key, value, events in records
        ]
        await asyncio.gather(*futures)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        kafka_cpu = server_cpu(kafka) - k0
    finally:
        await producer.stop()
    return Timing(sum(events for _, _, events in records), wall, cpu, kafka_cpu)


async def raw_bulk(
    url: str, docs: Sequence[tuple[str, str, bytes]], *, concurrency: int = 2
) -> Timing:
    """Index ``docs`` (stream, id, source) with the storage engineer's raw loader."""
    from bench.rawload import bulk_bodies, post_bodies

    # Create each data stream first (untimed): stream creation is not indexing speed.
    firsts: dict[str, int] = {}
    for i, (stream, _id, _source) in enumerate(docs):
        firsts.setdefault(stream, i)
    warm_positions = set(firsts.values())
    await post_bodies(url, bulk_bodies([docs[i] for i in warm_positions]), concurrency=1)
    rest = [d for i, d in enumerate(docs) if i not in warm_positions]
    bodies = bulk_bodies(rest)
    opensearch = stack_pid(Settings(opensearch_url=url), "opensearch")
    cpu0, t0, o0 = time.process_time(), time.perf_counter(), server_cpu(opensearch)
    answered = await post_bodies(url, bodies, concurrency=concurrency)
    acked, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if answered != len(rest):
        raise RuntimeError(f"raw loader: {answered} of {len(rest)} answered")
    streams = ",".join(firsts)
    async with aiohttp.ClientSession() as session:
        searchable = await services.wait_os_count(session, url, streams, len(docs), 120)
    wall = time.perf_counter() - t0
    opensearch_cpu = server_cpu(opensearch) - o0
    if searchable < len(docs):
        raise RuntimeError(f"raw loader: {searchable} of {len(docs)} searchable")
    return Timing(len(rest), wall, cpu, opensearch_cpu, acked)
