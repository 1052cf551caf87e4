"""What the alerting role's faust app produces (alerts, table changelogs) is stored in
batches compressed as ``kafka_compression`` says, read back raw from the real broker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition

from bitacora.processors.app import DETECT_STATE, Role, internal_topic_name
from bitacora.rules.model import Rule
from tests.integration.rules.receivers import http_receiver
from tests.integration.rules.test_stream_aggregation import _settings, alerting, topics
from tests.integration.rules.test_stream_alerts import Events, until

FETCH_BYTES = 4 * 1024 * 1024
CODECS = {
    DefaultRecordBatch.CODEC_NONE: "none",
    DefaultRecordBatch.CODEC_GZIP: "gzip",
    DefaultRecordBatch.CODEC_SNAPPY: "snappy",
    DefaultRecordBatch.CODEC_LZ4: "lz4",
    DefaultRecordBatch.CODEC_ZSTD: "zstd",
}


async def stored_batches(bootstrap: str, topic: str) -> list[tuple[str, int]]:
    """(codec, records) of every batch of partition 0 of ``topic``, as the broker stores it
    (one raw fetch from offset 0: a consumer would hand back the records decompressed)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    try:
        await client.add_topic(topic)  # done once the metadata holds the topic
        leader = client.cluster.leader_for_partition(TopicPartition(topic, 0))
        assert leader is not None, f"{topic}: no leader in the metadata"
        request = FetchRequest(0, 0, FETCH_BYTES, 0, [(topic, [(0, 0, FETCH_BYTES)])])
        response = await client.send(leader, request)
        [(_, [(_, error, _, *data)])] = response.topics
        assert error == 0, f"{topic}: fetch error {error}"
        records = MemoryRecords(data[-1])
        batches = []
        while (batch := records.next_batch()) is not None:
            batches.append((CODECS[batch.compression_type], len(list(batch))))
        return batches
    finally:
        await client.close()


async def test_alerts_and_changelogs_are_stored_compressed_as_configured(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    # Not the default, and not faust's own (uncompressed): only the setting gives it.
    settings = _settings(kafka_bootstrap, opensearch_url, tmp_path, kafka_compression="gzip")
    state = internal_topic_name(settings.app_id, Role.ALERTING, f"{DETECT_STATE}-changelog")
    # ``topics`` deletes every topic of the app id on exit, faust's own included.
    async with http_receiver() as receiver:
        rule = Rule.model_validate(
            {
                "name": "codec-burst",
                "type": "frequency",
                "num_events": 2,
                "timeframe": "1h",
                "query_key": "service.name",
                "filter": [{"term": {"log.level": "error"}}],
                "alert": "post",
                "http_post_url": f"{receiver.url}/hook",
            }
        )
        async with (
            topics(settings) as producer,
            alerting(settings, rule, None) as service,
        ):
            # A stateful rule: detect (in the faust app) writes its state and the alert.
            await Events(producer, settings.topic_normalized, "svc-codec").send(2)
            await receiver.wait_for(1, 90.0)
            await until(lambda: service.handled == 1, "the alert decided")
            assert await stored_batches(kafka_bootstrap, settings.topic_alerts) == [("gzip", 1)]
            # The state's changelog records leave faust's producer buffer on their own.
            end = time.monotonic() + 30.0
            while not (written := await stored_batches(kafka_bootstrap, state)):
                assert time.monotonic() < end, "no detect state written"
                await asyncio.sleep(0.2)
            assert {codec for codec, _ in written} == {"gzip"}
