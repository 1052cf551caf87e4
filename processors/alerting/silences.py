"""Silences on Kafka: write, list and follow the compacted topic ``alerts.silences``.

One partition, compacted, key = silence id; every notify worker follows the whole topic
with its own group-less consumer (like a global table), the CLI writes and reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from bitacora import clients
from bitacora.settings import Settings

log = logging.getLogger("bitacora.silences")


async def ensure_topic(settings: Settings, topic: str, replication: int = 1) -> None:
    """Create the compacted silences topic if it does not exist yet."""
    admin = clients.kafka_admin(settings)
    await admin.start()
    try:
        existing = await admin.list_topics()
        if topic in existing:
            return
        spec = NewTopic(topic, 1, replication, topic_configs={"cleanup.policy": "compact"})
        with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race
            await admin.create_topics([spec])
    finally:
        await admin.close()


async def write_silence(
    settings: Settings, topic: str, silence: dict[str, Any] | None, silence_id: str
) -> None:
    """Store ``silence`` under ``silence_id`` (None deletes it)."""
    await ensure_topic(settings, topic)
    producer = clients.kafka_producer(settings, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        value = None if silence is None else json.dumps(silence).encode()
        await producer.send_and_wait(topic, value=value, key=silence_id.encode())
    finally:
        await producer.stop()


def _apply(silences: dict[str, dict[str, Any]], key: bytes | None, value: bytes | None) -> None:
    if key is None:
        return
    if not value:
        silences.pop(key.decode(), None)
        return
    try:
        silences[key.decode()] = json.loads(value)
    except ValueError:
        log.warning("ignoring a malformed silence record")


async def read_silences(settings: Settings, topic: str) -> dict[str, dict[str, Any]]:
    """Every stored silence (expired ones included), read from the start to the end."""
    await ensure_topic(settings, topic)
    consumer = clients.kafka_consumer(settings, enable_auto_commit=False)
    await consumer.start()
    silences: dict[str, dict[str, Any]] = {}
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        while await consumer.position(partition) < end:
            batches = await consumer.getmany(partition, timeout_ms=1000)
            for message in batches.get(partition, []):
                _apply(silences, message.key, message.value)
    finally:
        await consumer.stop()
    return silences


class SilenceFollower:
    """Keeps ``silences`` up to date from the topic until cancelled."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.settings = settings
        self.topic = topic
        self.silences: dict[str, dict[str, Any]] = {}
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Follow the topic; reconnect after errors (silences must not stop alerting)."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep following whatever Kafka does
                log.warning("silences topic unavailable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(2.0)

    async def _follow(self) -> None:
        await ensure_topic(self.settings, self.topic)
        consumer = clients.kafka_consumer(self.settings, enable_auto_commit=False)
        await consumer.start()
        try:
            partition = TopicPartition(self.topic, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            end = (await consumer.end_offsets([partition]))[partition]
            while True:
                batches = await consumer.getmany(partition, timeout_ms=500)
                for message in batches.get(partition, []):
                    _apply(self.silences, message.key, message.value)
                if not self.ready.is_set() and await consumer.position(partition) >= end:
                    self.ready.set()
        finally:
            await consumer.stop()
