"""The file input's shell, one cycle at a time (``run_once``), over the real Kafka.

Each cycle is driven by the test, so what a cycle sees is exact: no timing, no sleeps.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.procs import free_port
from bitacora import rawrecord
from bitacora.collector.metrics import CollectorMetrics
from bitacora.collector.publisher import KafkaUnavailable, Publisher
from bitacora.collector.tail import positions as store
from bitacora.collector.tail.follower import TailConfig, TailSource
from bitacora.settings import Settings
from tests.reliability.harness import Pipeline, read_raw_events

_PUBLISHERS: list[Publisher] = []


@pytest.fixture
async def run(settings: Settings) -> AsyncIterator[Pipeline]:
    pipeline = Pipeline(settings)
    await pipeline.create_topics()
    try:
        yield pipeline
    finally:
        while _PUBLISHERS:
            await _PUBLISHERS.pop().stop()
        await pipeline.cleanup()


async def _source(run: Pipeline, tmp_path: Path, **options: object) -> TailSource:
    env = run.env
    settings = run.settings.model_copy(
        update={
            "topic_raw": env["BITACORA_TOPIC_RAW"],
            "topic_deadletter": env["BITACORA_TOPIC_DEADLETTER"],
        }
    )
    publisher = Publisher(settings, CollectorMetrics())
    await publisher.start()
    _PUBLISHERS.append(publisher)
    values: dict[str, object] = {
        "patterns": [str(tmp_path / "*.log")],
        "positions_file": tmp_path / "positions.json",
        "from_beginning": True,
        "rotate_wait_s": 0,
        "multiline_flush_s": 3600,  # flushed only by the next start line in these tests
    }
    values.update(options)
    source = TailSource(TailConfig.model_validate(values), publisher, CollectorMetrics())
    await source.start(background=False)
    return source


async def _raws(run: Pipeline) -> list[rawrecord.RawRecord]:
    raws = await read_raw_events(run.settings.kafka_bootstrap, run.env["BITACORA_TOPIC_RAW"])
    return sorted(raws, key=lambda r: (r.chunk, r.position))


async def test_partial_lines_wait_multiline_joins_long_lines_are_cut(
    run: Pipeline, tmp_path: Path
) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"2026 start\n  at frame 1\n2026 next\nhalf")
    source = await _source(run, tmp_path, multiline_start=r"^\d{4} ", max_line_bytes=256)
    try:
        assert await source.run_once() == 1  # "2026 next" waits for the next start line
        with log.open("ab") as out:
            out.write(b" done\n2026 " + b"x" * 300 + b"\n2026 end\n")
        assert await source.run_once() == 2
        texts = [(r.position, r.record["log"], r.record.get("truncated")) for r in await _raws(run)]
        assert texts == [
            (0, "2026 start\n  at frame 1", None),
            (24, "2026 next\nhalf done", None),
            (44, "2026 " + "x" * 251, True),
        ]
        stored = store.load(tmp_path / "positions.json")
        (entry,) = stored.values()
        assert entry.offset == 44 + 306  # "2026 end" is still open (multiline)
    finally:
        await source.stop()


async def test_deleted_file_is_read_to_its_end_then_released(run: Pipeline, tmp_path: Path) -> None:
    log = tmp_path / "gone.log"
    log.write_bytes(b"one\n")
    source = await _source(run, tmp_path)
    try:
        assert await source.run_once() == 1
        with log.open("ab") as out:
            out.write(b"two\nlast, no newline")
        log.unlink()
        assert await source.run_once() == 2  # the partial last line goes out at the end
        assert source.files == {}
        assert store.load(tmp_path / "positions.json") == {}
        lines = [r.record["log"] for r in await _raws(run)]
        assert lines == ["one", "two", "last, no newline"]
    finally:
        await source.stop()


async def test_restart_resumes_at_the_stored_offset_with_the_same_ids(
    run: Pipeline, tmp_path: Path
) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a\nb\n")
    first = await _source(run, tmp_path)
    try:
        assert await first.run_once() == 2
    finally:
        await first.stop()
    with log.open("ab") as out:
        out.write(b"c\n")
    second = await _source(run, tmp_path)
    try:
        assert await second.run_once() == 1
    finally:
        await second.stop()
    raws = await _raws(run)
    assert [(r.record["log"], r.position) for r in raws] == [("a", 0), ("b", 2), ("c", 4)]
    assert len({r.chunk for r in raws}) == 1  # one identity: one id token
    info = os.stat(log)
    assert raws[0].chunk is not None
    assert raws[0].chunk.startswith(f"file:{info.st_dev}:{info.st_ino}:")


async def test_nothing_is_stored_while_kafka_refuses(run: Pipeline, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"kept\n")
    down = run.settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    publisher = Publisher(down, CollectorMetrics())
    await publisher.start()  # keeps retrying in the background
    _PUBLISHERS.append(publisher)
    config = TailConfig(
        patterns=[str(log)], positions_file=tmp_path / "positions.json", from_beginning=True
    )
    refused = TailSource(config, publisher, CollectorMetrics())
    await refused.start(background=False)
    try:
        with pytest.raises(KafkaUnavailable):
            await refused.run_once()
        with pytest.raises(KafkaUnavailable):  # read again from the stored offset: same bytes
            await refused.run_once()
    finally:
        await refused.stop()
    (entry,) = store.load(tmp_path / "positions.json").values()
    assert entry.offset == 0
    source = await _source(run, tmp_path)
    try:
        assert await source.run_once() == 1
    finally:
        await source.stop()
    (raw,) = await _raws(run)
    assert (raw.record["log"], raw.position, raw.chunk) == ("kept", 0, entry.chunk)
