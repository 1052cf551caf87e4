"""Small helpers against the real Kafka and OpenSearch: topics, groups, offsets, counts,
cleanup."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

import aiohttp
from aiokafka import TopicPartition
from aiokafka.admin import NewTopic
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from bench.procs import free_port
from bitacora import bundles, clients, schema
from bitacora.settings import Settings

log = logging.getLogger(__name__)


def _kafka(bootstrap: str) -> Settings:
    # The bench names brokers by address; security and the rest come from BITACORA_*.
    return Settings(kafka_bootstrap=bootstrap)


def run_id() -> str:
    """A short id that makes topics, groups and streams of one run unique."""
    return uuid.uuid4().hex[:8]


def isolated_env(rid: str, settings: Settings, **ports: int) -> dict[str, str]:
    """``BITACORA_*`` variables that isolate one run's components from everyone else's.

    Every collector input not given in ``ports`` gets a free port too, so a component
    never binds the defaults other runs (or the user's collector) may hold.
    """
    env = {
        "BITACORA_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "BITACORA_OPENSEARCH_URL": settings.opensearch_url,
        "BITACORA_APP_ID": f"bench-{rid}",
        "BITACORA_TOPIC_RAW": f"bench-{rid}.raw",
        "BITACORA_TOPIC_NORMALIZED": f"bench-{rid}.normalized",
        "BITACORA_TOPIC_DEADLETTER": f"bench-{rid}.deadletter",
        "BITACORA_TOPIC_ALERTS": f"bench-{rid}.alerts",
        "BITACORA_PROCESSOR_DATA_DIR": f"/tmp/bitacora-bench/{rid}/faust",
    }
    names = {
        "forward": "FORWARD_PORT",
        "http": "HTTP_PORT",
        "web": "PROCESSOR_HTTP_PORT",
        "otlp_http": "OTLP_HTTP_PORT",
        "otlp_grpc": "OTLP_GRPC_PORT",
        "syslog": "SYSLOG_PORT",
        "syslog_tls": "SYSLOG_TLS_PORT",
    }
    for key in ("forward", "http", "otlp_http", "otlp_grpc", "syslog", "syslog_tls"):
        if key not in ports:
            ports[key] = free_port()
    for key, port in ports.items():
        env[f"BITACORA_{names[key]}"] = str(port)
    return env


async def create_topics(bootstrap: str, names: Iterable[str], partitions: int) -> None:
    """Create topics (existing ones are fine)."""
    admin = clients.kafka_admin(_kafka(bootstrap))
    await admin.start()
    try:
        topics = [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
        try:
            await admin.create_topics(topics)
        except Exception as exc:  # TopicAlreadyExistsError and friends: idempotent
            if "TopicAlreadyExists" not in type(exc).__name__ + str(exc):
                raise
    finally:
        await admin.close()


def of_app(name: str, app_id: str | None) -> bool:
    """Whether a topic or group ``name`` belongs to ``app_id``: the id itself (a faust app's
    group) or ``<app id>-…`` (the processor roles' groups, faust's internal topics and
    changelogs)."""
    return app_id is not None and (name == app_id or name.startswith(f"{app_id}-"))


async def delete_topics(
    bootstrap: str,
    names: Iterable[str],
    app_id: str | None = None,
    groups: Iterable[str] = (),
) -> None:
    """Delete what a run created in Kafka: the topics ``names`` and the consumer ``groups``
    (missing ones are fine) and, with ``app_id``, every topic and group of that app
    (:func:`of_app`). Leftovers pile up in the broker and slow every client's metadata
    requests. Call it once the run's consumers stopped (see :func:`delete_groups`)."""
    admin = clients.kafka_admin(_kafka(bootstrap))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        named = set(names)
        doomed = sorted(n for n in existing if n in named or of_app(n, app_id))
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()
    await delete_groups(bootstrap, groups, app_id)


async def delete_groups(
    bootstrap: str, names: Iterable[str], app_id: str | None = None, members_gone_s: float = 60.0
) -> None:
    """Delete the consumer groups ``names`` and, with ``app_id``, every group of that app.

    Kafka deletes only a group without members: one still held by a consumer that was
    killed rather than stopped is retried until its session expires, at most
    ``members_gone_s``, then left with a warning. (confluent-kafka's admin client: aiokafka
    has no call that deletes groups.)
    """
    admin = AdminClient(clients.librdkafka_config(_kafka(bootstrap)))
    listed = await asyncio.wrap_future(admin.list_consumer_groups(request_timeout=30))
    named = set(names)
    doomed = sorted(
        g.group_id for g in listed.valid if g.group_id in named or of_app(g.group_id, app_id)
    )
    deadline = time.monotonic() + members_gone_s
    while doomed:
        busy = []
        for group, future in admin.delete_consumer_groups(doomed, request_timeout=30).items():
            try:
                await asyncio.wrap_future(future)
            except KafkaException as exc:
                code = exc.args[0].code()
                if code == KafkaError.NON_EMPTY_GROUP:
                    busy.append(group)
                elif code != KafkaError.GROUP_ID_NOT_FOUND:  # gone meanwhile: fine
                    raise
        if busy and time.monotonic() > deadline:
            log.warning("consumer groups still have members, not deleted: %s", ", ".join(busy))
            return
        if busy:
            await asyncio.sleep(0.5)
        doomed = busy


async def kafka_names(bootstrap: str, prefix: str) -> tuple[list[str], list[str]]:
    """The topics and the consumer groups whose names start with ``prefix``, sorted."""
    admin = clients.kafka_admin(_kafka(bootstrap))
    await admin.start()
    try:
        topics = await admin.list_topics()
        groups = [listing[0] for listing in await admin.list_consumer_groups()]
    finally:
        await admin.close()
    mine = sorted(t for t in topics if t.startswith(prefix))
    return mine, sorted(g for g in groups if g.startswith(prefix))


async def wait_kafka_gone(
    bootstrap: str, prefix: str, deadline_s: float = 30.0
) -> tuple[list[str], list[str]]:
    """Poll until no topic or group is named ``prefix``… (a deleted topic leaves the
    brokers' metadata a moment after the deletion returns); return what is left."""
    end = time.monotonic() + deadline_s
    left = await kafka_names(bootstrap, prefix)
    while left != ([], []) and time.monotonic() < end:
        await asyncio.sleep(0.2)
        left = await kafka_names(bootstrap, prefix)
    return left


async def topic_message_count(bootstrap: str, topic: str) -> int:
    """Messages in ``topic``: the sum over partitions of end offset minus start offset."""
    consumer = clients.kafka_consumer(_kafka(bootstrap))
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            await consumer._client.force_metadata_update()  # new topic: refresh metadata
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        if not tps:
            return 0
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        await consumer.stop()


async def wait_topic_count(
    bootstrap: str, topic: str, expected: int | None, deadline_s: float
) -> int:
    """Poll until ``topic`` holds at least ``expected`` events (a bundle counts its events,
    :mod:`bitacora.bundles`); return the last count. With ``expected`` None: the events
    the topic holds now (read up to its end offsets)."""
    end = time.monotonic() + deadline_s
    consumer = clients.kafka_consumer(_kafka(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # a topic created moments ago
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning()
        ends = await consumer.end_offsets(tps) if expected is None else {}
        count = 0
        while True:
            got = await consumer.getmany(timeout_ms=200, max_records=100_000)
            count += sum(bundles.weight(records) for records in got.values())
            if expected is None:
                if all([await consumer.position(tp) >= ends[tp] for tp in tps]):
                    return count
            elif count >= expected:
                return count
            if time.monotonic() >= end:
                return count
    finally:
        await consumer.stop()


async def os_request(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[int, Any]:
    """One OpenSearch call; returns (status, parsed JSON or None)."""
    data = None if body is None else json.dumps(body)
    headers = {"Content-Type": "application/json"}
    async with session.request(method, url, data=data, headers=headers) as response:
        raw = await response.read()
        return response.status, (json.loads(raw) if raw else None)


async def os_count(
    session: aiohttp.ClientSession, url: str, pattern: str, query: Any = None
) -> int:
    """Documents matching ``query`` in ``pattern`` (0 while nothing exists)."""
    body = {"query": query} if query is not None else None
    status, payload = await os_request(
        session,
        "POST",
        f"{url}/{pattern}/_count?ignore_unavailable=true&allow_no_indices=true",
        body,
    )
    if status == 503:
        return 0  # a stream created a moment ago: its shard is not started yet
    if status != 200:
        raise RuntimeError(f"count on {pattern}: HTTP {status}: {payload}")
    return int(payload["count"])


async def os_refresh(session: aiohttp.ClientSession, url: str, pattern: str) -> None:
    """Make everything indexed so far searchable (for exact counts, not for latency)."""
    await os_request(
        session, "POST", f"{url}/{pattern}/_refresh?ignore_unavailable=true&allow_no_indices=true"
    )


async def wait_os_count(
    session: aiohttp.ClientSession, url: str, pattern: str, expected: int, deadline_s: float
) -> int:
    """Poll until ``pattern`` holds at least ``expected`` documents; return the last count."""
    end = time.monotonic() + deadline_s
    while True:
        count = await os_count(session, url, pattern)
        if count >= expected or time.monotonic() >= end:
            return count
        await asyncio.sleep(0.1)


async def os_delete_streams(session: aiohttp.ClientSession, url: str, pattern: str) -> None:
    """Delete the data streams (and plain indices) matching ``pattern``; safe if none."""
    await os_request(session, "DELETE", f"{url}/_data_stream/{pattern}")
    await os_request(
        session,
        "DELETE",
        f"{url}/{pattern}?ignore_unavailable=true&allow_no_indices=true&expand_wildcards=all",
    )


# The data streams of one benchmark run: ``logs-bench<run id>-<service>`` and the raw
# baseline's ``logs-rawbench<run id>-<service>``, or ``logs-bench-<run id>``.
RUN_STREAM = re.compile(r"logs-(raw)?bench-?[0-9a-f]{8}(-.+)?")


# A run's streams are this much younger at least: older ones are left over, not in use.
LEFTOVER_AGE_S = 3600.0


async def leftover_streams(
    session: aiohttp.ClientSession, url: str, age_s: float = LEFTOVER_AGE_S
) -> list[str]:
    """The data streams earlier benchmark runs left behind (a crash or a ^C skips cleanup):
    run streams whose newest backing index is older than ``age_s``, so a run going on
    beside this one keeps its own."""
    status, payload = await os_request(session, "GET", f"{url}/_data_stream")
    if status != 200:
        raise RuntimeError(f"list data streams: HTTP {status}: {payload}")
    newest = {
        stream["indices"][-1]["index_name"]: stream["name"]
        for stream in payload["data_streams"]
        if RUN_STREAM.fullmatch(stream["name"])
    }
    if not newest:
        return []
    # One request for every run's backing indices (a list of names could outgrow the URL).
    path = f"{url}/.ds-logs-*bench*/_settings/index.creation_date?expand_wildcards=all"
    status, settings = await os_request(session, "GET", path)
    if status != 200:
        raise RuntimeError(f"creation dates of run streams: HTTP {status}: {settings}")
    cutoff_ms = (time.time() - age_s) * 1000
    return sorted(
        name
        for index, name in newest.items()
        if int(settings[index]["settings"]["index"]["creation_date"]) < cutoff_ms
    )


async def os_create_streams(session: aiohttp.ClientSession, url: str, names: Iterable[str]) -> None:
    """Create data streams now (matching index templates apply), so timed runs do not pay
    for stream creation; existing ones are fine."""
    for name in names:
        status, payload = await os_request(session, "PUT", f"{url}/_data_stream/{name}")
        if status not in (200, 400) or (
            status == 400 and "already exists" not in json.dumps(payload)
        ):
            raise RuntimeError(f"create data stream {name}: HTTP {status}: {payload}")
    await os_request(session, "GET", f"{url}/_cluster/health?wait_for_status=yellow&timeout=30s")


async def group_lag(bootstrap: str, group: str, topic: str) -> int:
    """Messages of ``topic`` not yet committed by ``group`` (end offset minus committed)."""
    admin = clients.kafka_admin(_kafka(bootstrap))
    await admin.start()
    consumer = clients.kafka_consumer(_kafka(bootstrap))
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = await consumer.end_offsets(tps)
        lag = 0
        for tp in tps:
            meta = committed.get(tp)
            lag += ends[tp] - (meta.offset if meta is not None and meta.offset >= 0 else 0)
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def alerting_lag(bootstrap: str, env: dict[str, str], *, alerts: bool = True) -> int:
    """What the alerting role of ``env`` has not committed yet, over both of its groups:
    normalized events (route stage), keyed records and, with ``alerts``, alerts (its app)."""
    from bitacora.processors.app import DETECT_KEYED, Role, internal_topic_name

    app_id = env["BITACORA_APP_ID"]
    app_group = schema.consumer_group(app_id, Role.ALERTING.value)
    reads = [
        (schema.input_group(app_id, Role.ALERTING.value), env["BITACORA_TOPIC_NORMALIZED"]),
        (app_group, internal_topic_name(app_id, Role.ALERTING, DETECT_KEYED)),
    ]
    if alerts:
        reads.append((app_group, env["BITACORA_TOPIC_ALERTS"]))
    return sum([await group_lag(bootstrap, group, topic) for group, topic in reads])
