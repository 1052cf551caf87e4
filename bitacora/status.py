"""Live pipeline status: what came in, what is indexed, how far behind each stage is.

Read from the outside (Kafka offsets, OpenSearch counts) so it is true whichever process
does the work and however many workers there are.
"""

from __future__ import annotations

from dataclasses import dataclass

from bitacora import clients, schema
from bitacora.settings import Settings

ROLE_SOURCES = {"normalize": "raw", "index": "normalized", "alerting": "normalized"}


@dataclass(frozen=True)
class Status:
    """One reading of the pipeline."""

    received: int  # records in logs.raw
    normalized: int
    indexed: int | None  # documents in logs-* (None: OpenSearch unreachable)
    lag: dict[str, int]  # per role: records not yet committed
    deadletters: int
    alerts: int


def format_status(status: Status, since: Status, elapsed_s: float) -> str:
    """One status line: what happened since the ``since`` reading, and each stage's lag."""

    def delta(now: int | None, then: int | None) -> str:
        return "down" if now is None or then is None else f"{now - then:,}"

    received = status.received - since.received
    rate = received / elapsed_s if elapsed_s > 0 else 0.0
    lag = " ".join(f"{role}={value:,}" for role, value in status.lag.items())
    return (
        f"[{int(elapsed_s) // 60:02d}:{int(elapsed_s) % 60:02d}] in {received:,} ({rate:,.0f}/s) · "
        f"normalized {delta(status.normalized, since.normalized)} · "
        f"indexed {delta(status.indexed, since.indexed)} · lag {lag} · "
        f"dead letters {delta(status.deadletters, since.deadletters)} · "
        f"alerts {delta(status.alerts, since.alerts)}"
    )


async def read_status(settings: Settings) -> Status:
    """Take one reading from Kafka and OpenSearch.

    Raises ConnectionRefusedByPeer when Kafka refuses the credentials or its certificate.
    """
    from aiokafka import TopicPartition

    topics = {
        "raw": settings.topic_raw,
        "normalized": settings.topic_normalized,
        "deadletter": settings.topic_deadletter,
        "alerts": settings.topic_alerts,
    }
    await clients.kafka_preflight(settings)
    consumer = clients.kafka_consumer(settings)
    admin = clients.kafka_admin(settings)
    await consumer.start()
    await admin.start()
    try:
        ends: dict[str, dict[int, int]] = {}
        for label, topic in topics.items():
            partitions = consumer.partitions_for_topic(topic) or set()
            if not partitions:
                await consumer._client.force_metadata_update()  # topics created after start
                partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            offsets = await consumer.end_offsets(tps) if tps else {}
            ends[label] = {tp.partition: offset for tp, offset in offsets.items()}
        lag: dict[str, int] = {}
        for role in schema.PROCESSOR_ROLES:
            source = ROLE_SOURCES[role]
            group = schema.input_group(settings.app_id, role)
            committed = await admin.list_consumer_group_offsets(group)
            done = {
                tp.partition: meta.offset
                for tp, meta in committed.items()
                if tp.topic == topics[source] and meta.offset >= 0
            }
            lag[role] = sum(end - done.get(p, 0) for p, end in ends[source].items())
    finally:
        await consumer.stop()
        await admin.close()
    return Status(
        received=sum(ends["raw"].values()),
        normalized=sum(ends["normalized"].values()),
        indexed=await count_documents(settings, schema.LOGS_PATTERN),
        lag=lag,
        deadletters=sum(ends["deadletter"].values()),
        alerts=sum(ends["alerts"].values()),
    )


async def count_documents(settings: Settings, pattern: str) -> int | None:
    """Documents matching ``pattern`` in OpenSearch, or None when it cannot be reached."""
    import aiohttp

    try:
        async with clients.opensearch_session(settings, timeout_s=5) as session:
            url = f"{clients.opensearch_url(settings)}/{pattern}/_count?ignore_unavailable=true"
            async with session.get(url) as response:
                if response.status != 200:
                    return None
                return int((await response.json())["count"])
    except (TimeoutError, aiohttp.ClientError):
        return None
