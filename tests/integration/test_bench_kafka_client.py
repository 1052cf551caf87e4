"""``bench.kafka_client_bench`` still runs on the real stack, with exact counts.

Not a speed test: both clients must read every preloaded record once (and commit to the
topic's end) and have every produced record acknowledged once (the topic holds exactly
as many, on the same partitions for both clients); the bench raises otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import services
from bench.kafka_client_bench import measure
from bench.kafka_client_rows import client_rows
from bitacora.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 300


@pytest.mark.stack
async def test_every_record_consumed_and_acknowledged_once(kafka_bootstrap: str) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, bulk_max_docs=100)
    rid = services.run_id()
    reps = await measure(settings, EVENTS, 2, "zstd", warmup=50, rid=rid)
    assert await services.wait_kafka_gone(kafka_bootstrap, f"bench-kc-{rid}") == ([], [])
    assert len(reps) == 2
    for rep, samples in enumerate(reps):
        first = ("aiokafka", "confluent") if rep % 2 == 0 else ("confluent", "aiokafka")
        assert [(s.hop, s.client) for s in samples] == [
            ("consume", first[0]),
            ("consume", first[1]),
            ("produce", first[0]),
            ("produce", first[1]),
        ]
        assert [s.records for s in samples] == [EVENTS] * 4
        assert all(s.cpu_s > 0 and s.value_bytes > 100 * EVENTS for s in samples)
        assert len(client_rows(samples)) == 13


@pytest.mark.stack
@pytest.mark.timeout(120)
def test_module_prints_the_table(kafka_bootstrap: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.kafka_client_bench", "--events", "200", "--repeat", "1"],
        cwd=ROOT,
        env={**os.environ, "BITACORA_KAFKA_BOOTSTRAP": kafka_bootstrap},
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("200 records per hop, 1 repetitions")
    assert lines[1].split()[:4] == ["name", "value", "spread", "n"]
    names = [line.split()[0] for line in lines[3:]]
    assert names[0] == "consume_aiokafka_cpu_us_per_record"
    assert names[-1] == "both_hops_cpu_us_saved_per_event"
    assert len(names) == 13
