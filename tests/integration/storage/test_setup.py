"""``bitacora setup`` against the real Kafka and OpenSearch: exact result, idempotent."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from click.testing import CliRunner

from bitacora.cli.setup_cmd import setup as setup_command
from bitacora.processors.storage.indexer import BulkIndexer
from bitacora.processors.storage.setup import setup
from bitacora.processors.storage.templates import (
    alerts_index_template,
    deadletter_index_template,
    logs_index_template,
)
from bitacora.settings import Settings
from tests.integration.storage.osapi import TEST_PRIORITY, call, ok


def unique_settings(kafka_bootstrap: str, opensearch_url: str, **extra: object) -> Settings:
    tag = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap=kafka_bootstrap,
        opensearch_url=opensearch_url,
        topic_raw=f"logs.raw.t{tag}",
        topic_normalized=f"logs.normalized.t{tag}",
        topic_deadletter=f"logs.deadletter.t{tag}",
        topic_alerts=f"alerts.t{tag}",
        **extra,  # type: ignore[arg-type]
    )


async def expected_ism_notes(opensearch_url: str) -> list[str]:
    """The local stack has no ISM plugin; a compose stack has it (then: no note)."""
    status, _ = await call(opensearch_url, "GET", "/_plugins/_ism/policies?size=1")
    if status == 200:
        return []
    return ["ISM not installed: retention enforced by `bitacora retention apply`"]


def topic_names(settings: Settings) -> list[str]:
    return [
        settings.topic_raw,
        settings.topic_normalized,
        settings.topic_deadletter,
        settings.topic_alerts,
    ]


@pytest.fixture
async def admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await client.start()
    yield client
    await client.close()


async def partitions(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    described = await admin.describe_topics(names)
    return {t["topic"]: len(t["partitions"]) for t in described}


async def test_setup_twice_creates_exactly_once(
    kafka_bootstrap: str, opensearch_url: str, admin: AIOKafkaAdminClient
) -> None:
    settings = unique_settings(kafka_bootstrap, opensearch_url, topic_partitions=3)
    tag = settings.topic_raw.rsplit(".", 1)[1]
    templates = {
        f"test-logs-{tag}": logs_index_template(
            settings, pattern=f"logs-{tag}-*", priority=TEST_PRIORITY
        ),
        f"test-alerts-{tag}": alerts_index_template(
            settings, pattern=f"bitacora-alerts-{tag}*", priority=TEST_PRIORITY
        ),
        f"test-deadletter-{tag}": deadletter_index_template(
            settings, pattern=f"bitacora-deadletter-{tag}*", priority=TEST_PRIORITY
        ),
    }
    streams = [f"bitacora-alerts-{tag}", f"bitacora-deadletter-{tag}"]
    names = topic_names(settings)
    try:
        lines: list[str] = []
        first = await setup(
            settings, progress=lines.append, templates=templates, data_streams=streams
        )
        assert first.changes == [
            *(f"topic {name}: created with 3 partitions" for name in names),
            *(f"index template {name}: created" for name in templates),
            *(f"data stream {name}: created" for name in streams),
        ]
        assert first.notes == await expected_ism_notes(opensearch_url)
        assert await partitions(admin, names) == dict.fromkeys(names, 3)
        for name, body in templates.items():
            got = await ok(opensearch_url, "GET", f"/_index_template/{name}")
            stored = got["index_templates"][0]["index_template"]
            assert stored["_meta"] == body["_meta"]
            assert stored["index_patterns"] == body["index_patterns"]
        for stream in streams:
            info = await ok(opensearch_url, "GET", f"/_data_stream/{stream}")
            assert info["data_streams"][0]["name"] == stream

        lines.clear()
        second = await setup(
            settings, progress=lines.append, templates=templates, data_streams=streams
        )
        assert second.changes == []
        assert not second.changed
        assert lines[: len(names)] == [f"topic {name}: exists" for name in names]
        assert lines[len(names) : len(names) + 3] == [
            f"index template {name}: up to date" for name in templates
        ]
        assert lines[-2:] == [f"data stream {name}: exists" for name in streams]
        assert await partitions(admin, names) == dict.fromkeys(names, 3)

        # A stream written with the current template, then a changed setting: the template
        # is updated and the stream rolled over, so new documents get the new mapping.
        logs_stream = f"logs-{tag}-svc"
        async with BulkIndexer(Settings(opensearch_url=opensearch_url)) as indexer:
            result = await indexer.index(
                [(logs_stream, "1", b'{"@timestamp":"2026-11-28T10:00:00Z","message":"m"}')]
            )
        assert result.indexed == 1
        # The template's index settings reach the backing index as OpenSearch reads them.
        first_index = f".ds-{logs_stream}-000001"
        got = await ok(opensearch_url, "GET", f"/{first_index}/_settings?flat_settings=true")
        stored = got[first_index]["settings"]
        assert (stored["index.refresh_interval"], stored["index.merge_on_flush.enabled"]) == (
            "1s",
            "false",
        )
        changed = settings.model_copy(update={"index_replicas": 1})
        retemplated = {
            f"test-logs-{tag}": logs_index_template(
                changed, pattern=f"logs-{tag}-*", priority=TEST_PRIORITY
            )
        }
        third = await setup(
            changed, progress=lines.append, templates=retemplated, data_streams=streams
        )
        assert third.changes == [
            f"index template test-logs-{tag}: updated",
            f"data stream {logs_stream}: rolled over to .ds-{logs_stream}-000002 (mapping changed)",
        ]
        info = await ok(opensearch_url, "GET", f"/_data_stream/{logs_stream}")
        assert [i["index_name"] for i in info["data_streams"][0]["indices"]] == [
            f".ds-{logs_stream}-000001",
            f".ds-{logs_stream}-000002",
        ]
        fourth = await setup(
            changed, progress=lines.append, templates=retemplated, data_streams=streams
        )
        assert fourth.changes == []
    finally:
        await admin.delete_topics(names)
        for stream in [*streams, f"logs-{tag}-svc"]:
            await call(opensearch_url, "DELETE", f"/_data_stream/{stream}")
        for name in templates:
            await call(opensearch_url, "DELETE", f"/_index_template/{name}")


async def test_fewer_partitions_are_reported_not_changed(
    kafka_bootstrap: str, opensearch_url: str, admin: AIOKafkaAdminClient
) -> None:
    settings = unique_settings(kafka_bootstrap, opensearch_url, topic_partitions=4)
    names = topic_names(settings)
    await admin.create_topics([NewTopic(settings.topic_raw, 2, 1)])
    try:
        report = await setup(settings, progress=lambda _: None, templates={}, data_streams=[])
        assert report.changes == [f"topic {name}: created with 4 partitions" for name in names[1:]]
        assert report.notes[0] == (
            f"topic {settings.topic_raw}: has 2 partitions, configured 4; left as is "
            "(adding partitions re-maps keys: do it deliberately with kafka-topics --alter)"
        )
        assert await partitions(admin, names) == {names[0]: 2, **dict.fromkeys(names[1:], 4)}
    finally:
        await admin.delete_topics(names)


def test_cli_setup_installs_the_shipped_templates_and_is_idempotent(
    kafka_bootstrap: str, opensearch_url: str
) -> None:
    tag = uuid.uuid4().hex[:10]
    env = {
        "BITACORA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "BITACORA_OPENSEARCH_URL": opensearch_url,
        "BITACORA_TOPIC_RAW": f"logs.raw.c{tag}",
        "BITACORA_TOPIC_NORMALIZED": f"logs.normalized.c{tag}",
        "BITACORA_TOPIC_DEADLETTER": f"logs.deadletter.c{tag}",
        "BITACORA_TOPIC_ALERTS": f"alerts.c{tag}",
    }
    try:
        runner = CliRunner()
        first = runner.invoke(setup_command, ["--partitions", "2"], env=env)
        assert first.exit_code == 0, first.output
        assert f"topic logs.raw.c{tag}: created with 2 partitions" in first.output
        second = runner.invoke(setup_command, ["--partitions", "2"], env=env)
        assert second.exit_code == 0, second.output
        assert second.output.splitlines()[-1] == "setup: nothing to change"
        for line in (
            "index template bitacora-logs: up to date",
            "index template bitacora-alerts: up to date",
            "index template bitacora-deadletter: up to date",
            "data stream bitacora-alerts: exists",
            "data stream bitacora-deadletter: exists",
        ):
            assert line in second.output.splitlines()
    finally:
        asyncio.run(_delete_topics(kafka_bootstrap, [v for k, v in env.items() if "TOPIC" in k]))


async def _delete_topics(kafka_bootstrap: str, names: list[str]) -> None:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await client.start()
    try:
        await client.delete_topics(names)
    finally:
        await client.close()
