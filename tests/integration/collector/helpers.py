"""Helpers of the collector's integration tests: read Kafka, poll, the Node sender."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bitacora import bundles
from bitacora.rawrecord import RawRecord
from tests.reliability.harness import raw_events

NODE_DIR = Path(__file__).parent / "node"
PARTITIONS = 3


async def read_topic(bootstrap: str, topic: str, count: int, wait_s: float = 30.0) -> list[Any]:
    """Every record of ``topic`` once they hold ``count`` events (a bundle counts its
    events, :mod:`bitacora.bundles`); fails after ``wait_s``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        records: list[Any] = []
        deadline = time.monotonic() + wait_s
        while bundles.weight(records) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                got = bundles.weight(records)
                raise AssertionError(f"{topic}: {got} of {count} events after {wait_s}s")
            batch = await consumer.getmany(timeout_ms=int(min(left, 1.0) * 1000))
            for part_records in batch.values():
                records.extend(part_records)
        # anything beyond ``count`` would be a duplicate: give it a moment to show up
        extra = await consumer.getmany(timeout_ms=300)
        for part_records in extra.values():
            records.extend(part_records)
        return records
    finally:
        await consumer.stop()


async def read_raw(bootstrap: str, topic: str, count: int, wait_s: float = 30.0) -> list[RawRecord]:
    """The raw records of ``topic``, sorted by (time, position) for stable comparison."""
    raws = raw_events(await read_topic(bootstrap, topic, count, wait_s))
    return sorted(raws, key=lambda r: (r.time_ns, r.chunk or "", r.position))


def node_sender_ready() -> Path:
    """The npm fluent-logger sender folder, running ``npm install`` once when missing."""
    if not (NODE_DIR / "node_modules" / "fluent-logger").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            raise AssertionError("npm is required for the Node forward-sender tests")
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
            timeout=300,
        )
    return NODE_DIR


async def wait_until(check: Callable[[], bool], wait_s: float, what: str) -> None:
    """Poll ``check`` until true or fail after ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
