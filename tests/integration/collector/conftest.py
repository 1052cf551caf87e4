"""Fixtures of the collector's integration tests: unique topics, a running collector, readers.

Every test gets its own ``logs.raw.test-<uuid>`` and dead-letter topics (deleted after), and
a Collector on free ports in the test's event loop, publishing to the real Kafka of the
session's ``kafka_bootstrap`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bitacora.collector.app import Collector
from bitacora.settings import Settings
from tests.integration.collector.helpers import PARTITIONS


@pytest.fixture
async def topics(kafka_bootstrap: str) -> AsyncIterator[tuple[str, str]]:
    """A fresh (raw, dead-letter) topic pair, deleted after the test."""
    suffix = uuid.uuid4().hex[:10]
    names = (f"logs.raw.test-{suffix}", f"logs.deadletter.test-{suffix}")
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names])
        yield names
        with contextlib.suppress(Exception):
            await admin.delete_topics(list(names))
    finally:
        await admin.close()


@pytest.fixture
def make_settings(kafka_bootstrap: str, topics: tuple[str, str]) -> Callable[..., Settings]:
    """Settings for this test's topics on free ports; keyword overrides allowed."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "kafka_bootstrap": kafka_bootstrap,
            "topic_raw": topics[0],
            "topic_deadletter": topics[1],
            "forward_port": 0,
            "http_port": 0,
            "otlp_http_port": 0,
            "otlp_grpc_port": 0,
            "syslog_port": 0,
            "syslog_tls_port": 0,
            "kafka_linger_ms": 2,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def start_collector() -> AsyncIterator[Callable[[Settings], Any]]:
    """Start Collectors for a test; all are stopped after it."""
    started: list[Collector] = []

    async def start(settings: Settings) -> Collector:
        collector = Collector(settings)
        await collector.start()
        started.append(collector)
        return collector

    yield start
    for collector in started:
        await collector.stop()


@pytest.fixture
async def collector(
    make_settings: Callable[..., Settings], start_collector: Callable[[Settings], Any]
) -> Collector:
    """A collector with default settings on this test's topics."""
    result: Collector = await start_collector(make_settings())
    return result
