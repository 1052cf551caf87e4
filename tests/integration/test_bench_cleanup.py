"""``bench.services`` deletes what a run made in Kafka: topics and consumer groups, named
or of an app id, on the real broker."""

from __future__ import annotations

import logging
import time

import aiohttp
import pytest
from aiokafka import TopicPartition

from bench import services
from bitacora import clients
from bitacora.settings import Settings


@pytest.mark.stack
async def test_groups_of_the_app_go_once_their_members_left(
    kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    app_id = f"cleanup-{services.run_id()}"
    topic, group, other = f"{app_id}.in", f"{app_id}-role", f"{app_id}x-other"
    settings = Settings(kafka_bootstrap=kafka_bootstrap)
    await services.create_topics(kafka_bootstrap, [topic], 1)
    member = clients.kafka_consumer(settings, topic, group_id=group)
    loner = clients.kafka_consumer(settings, topic, group_id=other, enable_auto_commit=False)
    await member.start()
    await loner.start()
    try:
        deadline = time.monotonic() + 60
        while not (member.assignment() and loner.assignment()) and time.monotonic() < deadline:
            await member.getmany(timeout_ms=200)
            await loner.getmany(timeout_ms=200)
        assert member.assignment() == loner.assignment() == {TopicPartition(topic, 0)}
        await loner.commit()
        await loner.stop()
        with caplog.at_level(logging.WARNING, logger="bench.services"):
            await services.delete_groups(kafka_bootstrap, [], app_id, members_gone_s=1)
        assert caplog.messages == [f"consumer groups still have members, not deleted: {group}"]
        assert await services.kafka_names(kafka_bootstrap, app_id) == ([topic], [group, other])
    finally:
        await member.stop()
        await services.delete_topics(kafka_bootstrap, [topic], app_id, groups=[other])
    assert await services.wait_kafka_gone(kafka_bootstrap, app_id) == ([], [])


@pytest.mark.stack
async def test_leftover_streams_are_old_streams_of_runs_only(opensearch_url: str) -> None:
    rid = services.run_id()
    mine = [
        f"logs-bench{rid}-user-service",
        f"logs-rawbench{rid}-user-service",
        f"logs-bench-{rid}",
    ]
    others = [f"logs-benchmark{rid}", f"logs-bench{rid[:7]}-user-service"]
    async with aiohttp.ClientSession() as session:
        try:
            await services.os_create_streams(session, opensearch_url, [*mine, *others])
            # Streams created a moment ago may belong to a run going on beside: kept.
            young = await services.leftover_streams(session, opensearch_url)
            assert [name for name in young if rid[:7] in name] == []
            found = await services.leftover_streams(session, opensearch_url, age_s=-60)
            assert [name for name in found if rid[:7] in name] == sorted(mine)
        finally:
            for name in [*mine, *others]:
                await services.os_delete_streams(session, opensearch_url, name)
