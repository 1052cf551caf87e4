"""The batch consumer shell on the real Kafka: it commits exactly what its handler finished."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.services import delete_topics
from bitacora import bundles, schema
from bitacora.processors.shell.batch import BatchHandler, BatchRole, Record
from bitacora.settings import Settings

DEADLINE_S = 60.0


async def until(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Poll ``check`` until true; fail naming ``what`` after the deadline."""
    end = time.monotonic() + DEADLINE_S
    while True:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


class Recorder:
    """Records what it is given; holds back ``hold``; its first batch completes on ``gate``."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.submitted: list[int] = []
        self.completed: list[int] = []
        self.hold: int | None = None
        self.gate = asyncio.Event()
        self.gate.set()

    async def submit(self, records: list[Record]) -> Awaitable[None] | None:
        if not records:
            return None
        offsets = [r.offset for r in records]
        first = not self.submitted
        self.submitted += offsets

        async def complete() -> None:
            if first:
                await self.gate.wait()
            self.completed += offsets

        return complete()

    def held(self) -> Mapping[tuple[str, int], int]:
        return {} if self.hold is None else {(self.topic, 0): self.hold}


class RecorderRole(BatchRole):
    def __init__(self, settings: Settings, topic: str, handler: Recorder) -> None:
        super().__init__(settings, name="test", topics=[topic], max_records=3, within_s=0.05)
        self._handler = handler

    async def open_handler(self) -> BatchHandler:
        return self._handler


CREATED: list[str] = []  # this test's topic, deleted after it


@pytest.fixture(autouse=True)
async def _delete_created(kafka_bootstrap: str) -> AsyncIterator[None]:
    yield
    await delete_topics(kafka_bootstrap, CREATED)
    CREATED.clear()


async def setup(settings: Settings, records: int) -> tuple[Settings, str]:
    topic = f"batch-{uuid.uuid4().hex[:10]}"
    CREATED.append(topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(records):
            await producer.send_and_wait(topic, str(i).encode())
    finally:
        await producer.stop()
    return settings.model_copy(update={"app_id": f"batch-{uuid.uuid4().hex[:10]}"}), topic


async def committed(settings: Settings, topic: str) -> int | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(
            schema.consumer_group(settings.app_id, "test")
        )
    finally:
        await admin.close()
    found = offsets.get(TopicPartition(topic, 0))
    return None if found is None else found.offset


async def until_committed(settings: Settings, topic: str, offset: int) -> None:
    async def check() -> bool:
        return await committed(settings, topic) == offset

    await until(check, f"the committed offset to be {offset}")


async def test_commits_what_completed_but_never_past_what_is_held(settings: Settings) -> None:
    run, topic = await setup(settings, 10)
    recorder = Recorder(topic)
    recorder.hold = 4
    role = RecorderRole(run, topic, recorder)
    await role.start()
    try:
        await until(lambda: len(recorder.completed) == 10, "all ten records completed")
        assert recorder.completed == list(range(10))
        await until_committed(run, topic, 4)  # and no further while 4 is held
        assert await committed(run, topic) == 4
        recorder.hold = None
        await until_committed(run, topic, 10)
    finally:
        await role.stop()


async def test_nothing_is_committed_past_a_batch_still_in_flight(settings: Settings) -> None:
    run, topic = await setup(settings, 10)
    recorder = Recorder(topic)
    recorder.gate.clear()  # the first batch (offsets 0-2) does not complete yet
    role = RecorderRole(run, topic, recorder)
    await role.start()
    try:
        # Two batches in flight (the default depth): the second completed, the first not.
        await until(lambda: recorder.completed == [3, 4, 5], "the second batch completed")
        assert (recorder.submitted, await committed(run, topic)) == ([0, 1, 2, 3, 4, 5], None)
        recorder.gate.set()
        await until_committed(run, topic, 10)
        assert sorted(recorder.completed) == list(range(10))
    finally:
        await role.stop()


async def test_a_batch_cut_short_by_a_stop_is_read_again(settings: Settings) -> None:
    run, topic = await setup(settings, 3)
    first = Recorder(topic)
    first.gate.clear()  # the handler never completes its batch
    role = RecorderRole(run, topic, first)
    role.stop_grace_s = 0.2
    await role.start()
    await until(lambda: first.submitted == [0, 1, 2], "the batch submitted")
    await role.stop()
    assert (first.completed, await committed(run, topic)) == ([], None)

    second = Recorder(topic)
    again = RecorderRole(run, topic, second)
    await again.start()
    try:
        await until(lambda: second.completed == [0, 1, 2], "the unfinished batch read again")
    finally:
        await again.stop()


async def test_a_stop_lets_a_batch_in_flight_complete_within_the_grace(settings: Settings) -> None:
    run, topic = await setup(settings, 3)
    recorder = Recorder(topic)
    recorder.gate.clear()
    role = RecorderRole(run, topic, recorder)
    await role.start()
    await until(lambda: recorder.submitted == [0, 1, 2], "the batch submitted")
    asyncio.get_running_loop().call_later(0.2, recorder.gate.set)  # completes while stopping
    await role.stop()
    assert (recorder.completed, await committed(run, topic)) == ([0, 1, 2], 3)


class BundleRole(BatchRole):
    """Reads bundles of events: batches bounded in events (``bundles.weight``)."""

    def __init__(self, settings: Settings, topic: str, handler: Recorder) -> None:
        super().__init__(
            settings,
            name="test",
            topics=[topic],
            max_records=10,
            within_s=0.5,
            weigh=bundles.weight,
        )
        self._handler = handler

    async def open_handler(self) -> BatchHandler:
        return self._handler


async def test_batches_of_bundles_are_bounded_in_events(settings: Settings) -> None:
    """Ten records of four events each, batches of up to ten events: each read asks for
    as many records as the events left would fill, so no batch passes ten events by more
    than one record's four (read as a count of records, all ten would fit one batch)."""
    run, topic = await setup(settings, 0)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(topic, str(i).encode(), headers=bundles.header(4))
    finally:
        await producer.stop()
    recorder = Recorder(topic)
    batches: list[list[int]] = []
    submit = recorder.submit

    async def recording(records: list[Record]) -> Awaitable[None] | None:
        if records:
            batches.append([r.offset for r in records])
        return await submit(records)

    recorder.submit = recording  # type: ignore[method-assign]
    role = BundleRole(run, topic, recorder)
    await role.start()
    try:
        await until_committed(run, topic, 10)
    finally:
        await role.stop()
    assert [offset for batch in batches for offset in batch] == list(range(10))
    assert max(4 * len(batch) for batch in batches) <= 10 + 4
    assert len(batches) >= 3
