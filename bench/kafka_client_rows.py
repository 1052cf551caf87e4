"""The rows of ``bench.kafka_client_bench``: one repetition's samples → per-record figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.results import Row

HOPS = ("consume", "produce")
CLIENTS = ("aiokafka", "confluent")


@dataclass(frozen=True, slots=True)
class Sample:
    """One client on one hop: ``records`` verified (each consumed once, or acknowledged)."""

    hop: str  # "consume" or "produce"
    client: str  # "aiokafka" or "confluent"
    records: int
    cpu_s: float  # this process, every thread
    wall_s: float
    kafka_cpu_s: float  # the broker over the same window (NaN when it is not ours)
    value_bytes: int  # the records' values, summed

    def per_record_us(self, seconds: float) -> float:
        """``seconds`` per record, in µs."""
        return 1e6 * seconds / self.records if self.records else math.nan


def client_rows(samples: Sequence[Sample]) -> list[Row]:
    """Per hop: each client's CPU µs per record (confluent's against aiokafka's as its
    baseline), the difference and the broker's CPU per record; then the difference over
    both hops (what one event costs less through the processor). Wall time is left out: a
    window of a few hundred ms is mostly each client's start (connections, offsets)."""
    by = {(s.hop, s.client): s for s in samples}
    rows: list[Row] = []
    saved = 0.0
    for hop in HOPS:
        a, b = by[hop, "aiokafka"], by[hop, "confluent"]
        a_us, b_us = a.per_record_us(a.cpu_s), b.per_record_us(b.cpu_s)
        a_kafka, b_kafka = a.per_record_us(a.kafka_cpu_s), b.per_record_us(b.kafka_cpu_s)
        saved += a_us - b_us
        rows += [
            Row(f"{hop}_aiokafka_cpu_us_per_record", a_us, "µs", higher_is_better=False),
            Row(f"{hop}_confluent_cpu_us_per_record", b_us, "µs", baseline=a_us,
                higher_is_better=False),
            Row(f"{hop}_cpu_us_saved_per_record", a_us - b_us, "µs"),
            Row(f"{hop}_aiokafka_broker_cpu_us_per_record", a_kafka, "µs",
                higher_is_better=False),
            Row(f"{hop}_confluent_broker_cpu_us_per_record", b_kafka, "µs", baseline=a_kafka,
                higher_is_better=False),
            Row(f"{hop}_value_bytes_per_record", a.value_bytes / a.records, "B"),
        ]  # fmt: skip
    rows.append(Row("both_hops_cpu_us_saved_per_event", saved, "µs"))
    return rows
