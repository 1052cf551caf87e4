"""Producing a batch role's outputs: in order, then until Kafka holds every one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from bitacora.partitions import partition_for
from bitacora.settings import Settings
from processors.normalize_stage import Output

log = logging.getLogger("bitacora.processor")
MAX_BACKOFF_S = 5.0


def new_producer(settings: Settings, name: str) -> AIOKafkaProducer:
    """An idempotent ``acks=all`` producer for a role's outputs (order kept per partition)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"bitacora-{name}",
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=settings.kafka_max_batch_bytes,
        max_request_size=settings.kafka_max_batch_bytes + 65536,
    )


async def enqueue(producer: AIOKafkaProducer, outputs: Sequence[Output]) -> list[Any]:
    """Hand ``outputs`` to the producer in order; one delivery future (or error) each.

    Keyed records go to Kafka's default partition for their key (computed once per key).
    """
    sent: list[Any] = []
    counts: dict[str, int] = {}
    send = producer.send
    try:
        for out in outputs:
            key = out.key
            partition = None
            if key is not None:
                count = counts.get(out.topic)
                if count is None:
                    count = counts[out.topic] = len(await producer.partitions_for(out.topic))
                partition = partition_for(key, count)
            sent.append(
                await send(out.topic, out.value, key=key, partition=partition, headers=out.headers)
            )
    except KafkaError as exc:  # no metadata (Kafka down): this one and the rest wait
        return sent + [exc] * (len(outputs) - len(sent))
    return sent


async def settle(
    producer: AIOKafkaProducer, outputs: Sequence[Output], sent: list[Any], role: str
) -> None:
    """Wait for the deliveries of :func:`enqueue`; send what failed again until Kafka has all.

    Kafka down or a leader moving is retried with capped backoff for as long as it takes:
    the role's input offsets wait meanwhile (backpressure, not loss).
    """
    pending = list(outputs)
    delay = 0.1
    while True:
        failed = []
        for out, delivery in zip(pending, sent, strict=True):
            if not isinstance(delivery, asyncio.Future):
                failed.append(out)
                continue
            try:
                await delivery  # (no suspension once done: cheaper than one gather of all)
            except KafkaError:
                failed.append(out)
        if not failed:
            return
        log.warning("%s: %d records not in Kafka yet; retrying", role, len(failed))
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_BACKOFF_S)
        pending = failed
        sent = await enqueue(producer, pending)


async def send_all(producer: AIOKafkaProducer, outputs: Sequence[Output], role: str) -> None:
    """Produce every output in order; return once Kafka holds all of them."""
    await settle(producer, outputs, await enqueue(producer, outputs), role)
