"""Kafka stopped and restarted under load: nothing acked is lost, acks resume (slow).

Runs its own private Kafka (the local stack's code, on free ports and a temporary state
directory), so the shared Kafka of the other tests is never touched.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.procs import free_port
from bitacora.collector.app import Collector
from bitacora.collector.forward import encode
from bitacora.settings import Settings
from bitacora.stack import services
from bitacora.stack.config import KAFKA_PORT_OFFSETS, OPENSEARCH_PORT_OFFSETS
from tests.integration.collector.helpers import raw_events, read_topic

pytestmark = pytest.mark.slow
EVENTS_PER_CHUNK = 10


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[Settings]:
    """Settings of a Kafka of our own, stopped at the end."""
    port = free_port(KAFKA_PORT_OFFSETS)
    settings = Settings(
        kafka_bootstrap=f"127.0.0.1:{port}",
        opensearch_url=f"http://127.0.0.1:{free_port(OPENSEARCH_PORT_OFFSETS)}",
        state_dir=tmp_path / "stack",
    )
    services.start_service(settings, "kafka")
    try:
        yield settings
    finally:
        services.stop_service(settings, "kafka")


async def _read_acks(reader: asyncio.StreamReader, acked: set[str]) -> None:
    unpacker = msgpack.Unpacker(raw=False)
    while data := await reader.read(65536):
        unpacker.feed(data)
        acked.update(reply["ack"] for reply in unpacker)


async def _sender(port: int, acked: set[str], stop: asyncio.Event) -> None:
    """Send chunked requests until ``stop``; reconnect when the collector closes."""
    seq = 0
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue

        acks = asyncio.create_task(_read_acks(reader, acked))
        while not stop.is_set() and not acks.done():
            entries = [(1_700_000_000, {"seq": seq, "i": i}) for i in range(EVENTS_PER_CHUNK)]
            writer.write(encode.forward("restart", entries, {"chunk": f"c{seq}"}))
            seq += 1
            await asyncio.sleep(0.05)
        if stop.is_set():  # let the last acks arrive
            await asyncio.wait({acks}, timeout=40)
        acks.cancel()
        writer.close()


async def test_kafka_restart_loses_nothing_acked_and_acks_resume(private_kafka: Settings) -> None:
    topic = f"logs.raw.restart-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=private_kafka.kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 3, 1), NewTopic(topic + ".dl", 3, 1)])
    await admin.close()
    collector = Collector(
        Settings(
            kafka_bootstrap=private_kafka.kafka_bootstrap,
            topic_raw=topic,
            topic_deadletter=topic + ".dl",
            forward_port=0,
            http_port=0,
            otlp_http_port=0,
            otlp_grpc_port=0,
            syslog_port=0,
            syslog_tls_port=0,
        )
    )
    await collector.start()
    acked: set[str] = set()
    stop = asyncio.Event()
    sending = asyncio.create_task(_sender(collector.forward_port, acked, stop))
    try:
        await asyncio.sleep(3)
        before_stop = len(acked)
        assert before_stop > 0
        await asyncio.to_thread(services.stop_service, private_kafka, "kafka")
        # The outage is noticed: readiness (/readyz) fails while Kafka is down.
        assert not await collector.publisher.healthy(timeout_s=5.0)
        # Longer than the producer's 30 s request timeout: pending batches may expire (then
        # the producer is replaced: an idempotent one is unusable after that) or be retried
        # until Kafka is back, depending on whether aiokafka still knows a partition leader.
        await asyncio.sleep(40)
        during_outage = len(acked)
        assert during_outage == before_stop or during_outage - before_stop < 10
        await asyncio.to_thread(services.start_service, private_kafka, "kafka")
        deadline = asyncio.get_running_loop().time() + 90
        while len(acked) < during_outage + 20:  # acks resume after the restart
            assert asyncio.get_running_loop().time() < deadline, "acks never resumed"
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        await sending
        await collector.stop()
    records: list[Any] = await read_topic(
        private_kafka.kafka_bootstrap, topic, len(acked) * EVENTS_PER_CHUNK, wait_s=60
    )
    positions: dict[str | None, set[int]] = {}
    for raw in raw_events(records):
        positions.setdefault(raw.chunk, set()).add(raw.position)
    lost = [chunk for chunk in acked if positions.get(chunk) != set(range(EVENTS_PER_CHUNK))]
    assert lost == []
