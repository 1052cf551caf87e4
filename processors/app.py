"""The processor's roles, and the faust app of the alerting role.

Each role is its own consumer group, so a stalled stage never starves another: while
OpenSearch is down the ``index`` role holds its offsets and waits, but ``normalize`` and
``alerting`` keep running, so rules still page.

Roles: ``normalize`` (logs.raw → logs.normalized / logs.deadletter) and ``index``
(logs.normalized and logs.deadletter → OpenSearch) read in batches
(:mod:`processors.shell.batch`); ``alerting`` (logs.normalized → rules → alerts → destinations
and ``bitacora-alerts``) reads in batches too (its route stage, group
``<app id>-alerting-route``) and runs the rest as a faust app, for its changelog-backed
tables.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

import faust

from bitacora import clients, kafkacodec, schema
from bitacora.settings import Settings


class Role(StrEnum):
    """A stage of the processor; each is its own consumer group."""

    NORMALIZE = "normalize"
    INDEX = "index"
    ALERTING = "alerting"


ALL_ROLES: tuple[Role, ...] = (Role.NORMALIZE, Role.INDEX, Role.ALERTING)

# The alerting role's own topics (``<app id>-<suffix>``) and changelog-backed tables.
# Created before faust starts (see processors.worker): faust ignores a topic that its
# consumer subscribes to before the broker's metadata shows it.
DETECT_KEYED = "detect-keyed"
NOTIFY_RETRY = "notify-retry"
DETECT_STATE = "detect-state"
NOTIFY_STATE = "notify-state"
NOTIFY_AGGREGATION = "notify-aggregation"
INTERNAL_TOPICS: dict[Role, tuple[str, ...]] = {Role.ALERTING: (DETECT_KEYED, NOTIFY_RETRY)}
STATE_TABLES: dict[Role, tuple[str, ...]] = {
    Role.ALERTING: (DETECT_STATE, NOTIFY_STATE, NOTIFY_AGGREGATION)
}


def internal_topic_name(app_id: str, role: Role, suffix: str) -> str:
    """``<app id>-<role>-<suffix>``: a topic private to ``role``'s faust app."""
    return f"{schema.consumer_group(app_id, role.value)}-{suffix}"


def internal_topic_names(settings: Settings, role: Role) -> tuple[list[str], list[str]]:
    """(plain, compacted) names of the topics faust creates for ``role``'s app."""
    plain = [internal_topic_name(settings.app_id, role, s) for s in INTERNAL_TOPICS.get(role, ())]
    changelogs = [
        internal_topic_name(settings.app_id, role, f"{table}-changelog")
        for table in STATE_TABLES.get(role, ())
    ]
    return plain, changelogs


def create_app(settings: Settings, role: Role) -> faust.App:
    """The faust app of ``role`` (alerting), configured for at-least-once delivery."""
    datadir = settings.processor_data_dir / role.value
    datadir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        schema.consumer_group(settings.app_id, role.value),
        **clients.faust_broker_options(settings),
        store="memory://",
        datadir=str(datadir),
        value_serializer="raw",
        key_serializer="raw",
        autodiscover=False,
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # The alerts, changelogs and internal topics compressed like every other producer's.
        producer_compression_type=kafkacodec.compression_type(settings),
        producer_linger_ms=settings.kafka_linger_ms,
        broker_commit_every=10_000,
        broker_commit_interval=1.0,
        stream_buffer_maxsize=max(4096, settings.bulk_max_docs * 2),
        # Never commit what an agent did not finish: a crash or a cancel leaves it unacked.
        stream_ack_exceptions=False,
        stream_ack_cancelled_tasks=False,
        stream_wait_empty=False,
        topic_allow_declare=True,
        table_cleanup_interval=30.0,
    )


def raw_topic(app: faust.App, name: str) -> Any:
    """A topic of raw bytes (no faust serialization: our own formats are bytes)."""
    return app.topic(name, key_type=bytes, value_type=bytes, value_serializer="raw")


def internal_topic(app: faust.App, suffix: str, settings: Settings) -> Any:
    """A raw-bytes topic private to this app (``<app id>-<suffix>``), created by faust."""
    return app.topic(
        f"{app.conf.id}-{suffix}",
        key_type=bytes,
        value_type=bytes,
        value_serializer="raw",
        partitions=settings.topic_partitions,
        internal=True,
    )


class _PlacedTable(faust.Table[bytes, bytes]):
    """A table whose changelog partition per key is given by a function of the key."""

    def __init__(self, *args: Any, partition_of: Callable[[bytes], int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._partition_of = partition_of

    def partition_for_key(self, key: Any) -> int:
        """The changelog partition of ``key`` (faust asks before every write and delete)."""
        return self._partition_of(key)


def state_table(
    app: faust.App,
    name: str,
    settings: Settings,
    partition_of: Callable[[bytes], int] | None = None,
) -> Any:
    """A bytes → bytes faust table backed by a changelog topic.

    A key's changelog partition is ``partition_of(key)`` when given, else the one the
    producer's partitioner picks (``use_partitioner``); either way it is known outside the
    stream's iteration, so timers may update states too.
    """
    options: dict[str, Any] = {
        "default": None,
        "key_type": bytes,
        "value_type": bytes,
        "partitions": settings.topic_partitions,
        "use_partitioner": True,
    }
    if partition_of is None:
        return app.Table(name, **options)
    table = _PlacedTable(
        app, name=name, beacon=app.tables.beacon, partition_of=partition_of, **options
    )
    return app.tables.add(table)
