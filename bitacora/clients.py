"""The one place that builds Kafka and OpenSearch clients from ``Settings``.

Every aiokafka producer, consumer and admin client, the faust app's broker options, every
``opensearchpy.OpenSearch`` client and every aiohttp session that talks to OpenSearch is
made here, so where the services are and how to reach them is decided once. Call sites
pass only what is theirs (acks, idempotence, linger, group ids, timeouts).

faust is never imported here: :func:`faust_broker_options` returns plain keyword
arguments, so the collector (which must not load faust) can use this module.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from bitacora.settings import Settings


def kafka_options(settings: Settings) -> dict[str, Any]:
    """The connection options every aiokafka client shares (brokers and their security)."""
    return {"bootstrap_servers": settings.kafka_bootstrap}


def kafka_producer(settings: Settings, **options: Any) -> AIOKafkaProducer:
    """An aiokafka producer; ``options`` are the call site's own (acks, linger_ms...)."""
    return AIOKafkaProducer(**kafka_options(settings), **options)


def kafka_consumer(settings: Settings, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """An aiokafka consumer of ``topics`` (none: assign or subscribe later)."""
    return AIOKafkaConsumer(*topics, **kafka_options(settings), **options)


def kafka_admin(settings: Settings, **options: Any) -> AIOKafkaAdminClient:
    """An aiokafka admin client (topics, consumer group offsets)."""
    return AIOKafkaAdminClient(**kafka_options(settings), **options)


def faust_broker_options(settings: Settings) -> dict[str, Any]:
    """The ``faust.App`` keyword arguments that say where the brokers are and how to connect."""
    return {"broker": f"kafka://{settings.kafka_bootstrap}"}


def opensearch_url(settings: Settings) -> str:
    """The OpenSearch base URL, without a trailing slash."""
    return settings.opensearch_url.rstrip("/")


def _opensearch_auth(settings: Settings) -> tuple[str, str] | None:
    if settings.opensearch_user is None:
        return None
    password = settings.opensearch_password
    return settings.opensearch_user, password.get_secret_value() if password else ""


def _basic(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def opensearch_client(settings: Settings, *, timeout: float = 30.0, **options: Any) -> OpenSearch:
    """A synchronous opensearch-py client (credentials never logged)."""
    from opensearchpy import OpenSearch

    return OpenSearch(
        hosts=[settings.opensearch_url],
        http_auth=_opensearch_auth(settings),
        verify_certs=settings.opensearch_verify_certs,
        timeout=timeout,
        **options,
    )


def opensearch_session(
    settings: Settings, *, timeout_s: float | None = 60.0, limit: int = 100
) -> aiohttp.ClientSession:
    """An aiohttp session for OpenSearch's REST API (auth and TLS from the settings).

    Requests take paths under :func:`opensearch_url`; ``limit`` caps open connections.
    Create it inside the running event loop.
    """
    auth = _opensearch_auth(settings)
    headers = {"Authorization": _basic(*auth)} if auth else None
    return aiohttp.ClientSession(
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        connector=aiohttp.TCPConnector(limit=limit, ssl=settings.opensearch_verify_certs),
    )
