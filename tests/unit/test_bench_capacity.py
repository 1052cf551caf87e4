"""The capacity arithmetic of bench/capacity.py (pure, no services)."""

from __future__ import annotations

import math

from bench.capacity import Figures, plan, table

FIGURES = Figures(
    collector=70_000,
    processor=10_000,
    alerting_50_rules=20_000,
    opensearch_docs=10_000,
    kafka=500_000,
)


def test_plan_scales_with_volume() -> None:
    small, big = plan(FIGURES, 10), plan(FIGURES, 1000)
    assert small.events_per_s == 2_000
    assert big.events_per_s == 200_000
    assert small.collectors == 2  # never fewer than two
    assert big.collectors == math.ceil(200_000 / 70_000 / 0.7)
    assert big.processor_workers == math.ceil(200_000 / 10_000 / 0.7)
    # Partitions: a power of two with room to double the busiest consumer group.
    assert big.partitions == 64
    assert big.partitions >= 2 * big.processor_workers
    assert big.opensearch_cores == math.ceil(2 * 200_000 / 10_000 / 0.7)
    # 179 TB for 14 days with a replica: the disk, not the CPU, sizes the cluster.
    assert big.storage_tb == round(200_000 * 86_400 * 370 * 14 * 2 / 1e12, 2)
    assert big.opensearch_nodes == max(
        math.ceil(big.opensearch_cores / 8), math.ceil(big.storage_tb / 8)
    )
    assert small.opensearch_nodes == 3  # quorum


def test_unmeasured_figures_show_as_not_available() -> None:
    text = table(Figures(70_000, 10_000, 20_000, math.nan, math.nan), (10,))
    assert "| n/a | n/a |" in text
    assert "-1" not in text
