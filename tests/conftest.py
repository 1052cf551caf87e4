"""Session fixtures: where the real Kafka and OpenSearch are.

In order: ``BITACORA_KAFKA_BOOTSTRAP`` / ``BITACORA_OPENSEARCH_URL`` when set; else
testcontainers when a Docker daemon answers; else the local stack (``bitacora stack up``),
started here if it is not running. A test that needs a service fails, never skips, when the
service cannot be reached (with or without ``CI``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvloop

from bitacora.errors import StackError
from bitacora.settings import Settings
from bitacora.stack import config as stack_config
from bitacora.stack import health

# Images used when a Docker daemon answers. OpenSearch: the local stack's default version.
# Kafka: testcontainers' KafkaContainer drives the Confluent image's start scripts (it cannot
# run apache/kafka), so the newest Confluent 7.x line it supports in KRaft mode (Kafka 3.9).
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"
OPENSEARCH_IMAGE = (
    f"opensearchproject/opensearch:{Settings.model_fields['opensearch_version'].default}"
)
REACH_TIMEOUT_S = 30.0


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """Async tests run on uvloop: the loop the collector and the processor run on by default
    (bitacora/eventloop.py). CPython's own loop, the other choice, is covered end to end by
    tests/e2e/test_event_loop.py."""
    return {"uvloop": uvloop.new_event_loop}


def _docker_answers() -> bool:
    """True when a Docker daemon answers a ping within a second or two."""
    try:
        import docker  # type: ignore[import-untyped]  # the SDK ships no type hints

        client = docker.from_env(timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # any failure (no socket, no permission, no SDK) means "no Docker"
        return False


def _wait_reachable(kafka_bootstrap: str, opensearch_url: str) -> None:
    """Fail the session (never skip) unless both services answer within the timeout."""
    host, port = stack_config.parse_host_port(kafka_bootstrap, 9092)
    deadline = time.monotonic() + REACH_TIMEOUT_S
    kafka_ok = opensearch_ok = False
    while time.monotonic() < deadline:
        kafka_ok = kafka_ok or health.kafka_healthy(host, port)
        opensearch_ok = opensearch_ok or health.opensearch_healthy(opensearch_url)
        if kafka_ok and opensearch_ok:
            return
        time.sleep(0.5)
    missing = [
        name
        for name, ok in (
            (f"Kafka at {kafka_bootstrap}", kafka_ok),
            (f"OpenSearch at {opensearch_url}", opensearch_ok),
        )
        if not ok
    ]
    pytest.fail(
        f"{' and '.join(missing)} not reachable (start them with `bitacora stack up`, or set "
        "BITACORA_KAFKA_BOOTSTRAP / BITACORA_OPENSEARCH_URL)",
        pytrace=False,
    )


def _set_up(kafka_bootstrap: str, opensearch_url: str) -> None:
    """``bitacora setup`` once per session, as `make run` does (the index templates must
    exist before a component writes its first document, on a fresh stack too), and one
    consumer-group commit, so a fresh Kafka creates ``__consumer_offsets`` (50 partitions)
    here rather than inside the first test's deadline."""
    from aiokafka import AIOKafkaConsumer

    from bitacora.processors.storage.setup import setup

    settings = Settings(kafka_bootstrap=kafka_bootstrap, opensearch_url=opensearch_url)

    async def prepare() -> None:
        await setup(settings, progress=lambda _line: None)
        consumer = AIOKafkaConsumer(
            settings.topic_raw,
            bootstrap_servers=kafka_bootstrap,
            group_id="bitacora-tests-warmup",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            await consumer.getmany(timeout_ms=500)
            await consumer.commit()
        finally:
            await consumer.stop()

    asyncio.run(prepare())


@pytest.fixture(scope="session")
def stack_endpoints() -> Iterator[tuple[str, str]]:
    """(kafka bootstrap, OpenSearch URL) of a reachable real stack, for the whole session."""
    kafka = os.environ.get("BITACORA_KAFKA_BOOTSTRAP")
    opensearch = os.environ.get("BITACORA_OPENSEARCH_URL")
    containers: list[Any] = []
    if kafka and opensearch:
        pass
    elif _docker_answers():
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.opensearch import OpenSearchContainer

        if not kafka:
            kafka_container = KafkaContainer(KAFKA_IMAGE).with_kraft()
            kafka_container.start()
            containers.append(kafka_container)
            kafka = kafka_container.get_bootstrap_server()
        if not opensearch:
            opensearch_container = OpenSearchContainer(OPENSEARCH_IMAGE, security_enabled=False)
            opensearch_container.start()
            containers.append(opensearch_container)
            config = opensearch_container.get_config()
            opensearch = f"http://{config['host']}:{config['port']}"
    else:
        from bitacora import stack

        local = Settings()  # reads whichever BITACORA_* endpoint is set
        try:
            stack.ensure_up(local)
        except StackError as error:
            pytest.fail(f"the local stack did not start: {error}", pytrace=False)
        kafka, opensearch = local.kafka_bootstrap, local.opensearch_url
    assert kafka is not None
    assert opensearch is not None
    try:
        _wait_reachable(kafka, opensearch)
        _set_up(kafka, opensearch)
        yield kafka, opensearch
    finally:
        for container in containers:
            container.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(stack_endpoints: tuple[str, str]) -> str:
    """``host:port`` of the real Kafka."""
    return stack_endpoints[0]


@pytest.fixture(scope="session")
def opensearch_url(stack_endpoints: tuple[str, str]) -> str:
    """``http://host:port`` of the real OpenSearch."""
    return stack_endpoints[1]


@pytest.fixture(scope="session")
def settings(kafka_bootstrap: str, opensearch_url: str) -> Settings:
    """Settings pointing at the session's Kafka and OpenSearch (everything else default)."""
    return Settings(kafka_bootstrap=kafka_bootstrap, opensearch_url=opensearch_url)
