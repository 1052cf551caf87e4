"""The pure parts of ``bench.kafka_client_bench``: offset checks, batching, the rows."""

from __future__ import annotations

import math

import pytest

from bench.kafka_client_hops import Offsets, batches
from bench.kafka_client_rows import Sample, client_rows
from bench.results import aggregate
from bitacora.processors.normalize.stage import Output


def test_offsets_take_each_partition_in_order_once() -> None:
    offsets = Offsets(2)
    offsets.take(0, 0)
    offsets.take(1, 0)
    offsets.take(0, 1)
    assert offsets.next == {0: 2, 1: 1}
    assert offsets.count == 3
    with pytest.raises(RuntimeError, match="partition 0: got offset 1, expected 2"):
        offsets.take(0, 1)  # a duplicate
    with pytest.raises(RuntimeError, match="partition 1: got offset 3, expected 1"):
        offsets.take(1, 3)  # a gap


def test_offsets_to_commit_names_only_partitions_that_moved() -> None:
    offsets = Offsets(3)
    assert offsets.to_commit() == {}
    offsets.take(2, 0)
    offsets.take(2, 1)
    assert offsets.to_commit() == {2: 2}
    offsets.take(0, 0)
    assert offsets.to_commit() == {0: 1}
    assert offsets.to_commit() == {}


def test_batches_slice_in_order_with_a_shorter_last() -> None:
    outs = [Output("t", None, bytes([i])) for i in range(5)]
    assert [[o.value for o in b] for b in batches(outs, 2)] == [
        [b"\x00", b"\x01"],
        [b"\x02", b"\x03"],
        [b"\x04"],
    ]


def _samples(a_cpu: float, b_cpu: float, kafka: float = math.nan) -> list[Sample]:
    return [
        Sample(hop, client, 1000, cpu, 0.5, kafka, 400_000)
        for hop in ("consume", "produce")
        for client, cpu in (("aiokafka", a_cpu), ("confluent", b_cpu))
    ]


def test_client_rows_per_record_savings_and_both_hops() -> None:
    rows = {r.name: r for r in client_rows(_samples(0.008, 0.003, kafka=0.002))}
    assert rows["consume_aiokafka_cpu_us_per_record"].value == pytest.approx(8.0)
    confluent = rows["consume_confluent_cpu_us_per_record"]
    assert confluent.value == pytest.approx(3.0)
    assert confluent.ratio == pytest.approx(3.0 / 8.0)
    assert rows["produce_cpu_us_saved_per_record"].value == pytest.approx(5.0)
    assert rows["both_hops_cpu_us_saved_per_event"].value == pytest.approx(10.0)
    assert rows["consume_aiokafka_broker_cpu_us_per_record"].value == pytest.approx(2.0)
    assert rows["produce_value_bytes_per_record"].value == pytest.approx(400.0)


def test_client_rows_without_broker_cpu_are_nan() -> None:
    rows = {r.name: r for r in client_rows(_samples(0.008, 0.003))}
    assert math.isnan(rows["produce_aiokafka_broker_cpu_us_per_record"].value)


def test_client_rows_aggregate_to_median_of_paired_savings() -> None:
    reps = [
        client_rows(_samples(a, b)) for a, b in ((0.008, 0.003), (0.010, 0.004), (0.009, 0.002))
    ]
    saved = {r.name: r for r in aggregate(reps)}["consume_cpu_us_saved_per_record"]
    assert (saved.value, saved.low, saved.high) == pytest.approx((6.0, 5.0, 7.0))
    assert saved.repeats == 3
