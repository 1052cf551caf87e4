"""``python -m bench.capacity``: sizing for 10x, 100x and 1,000x the demo volume, computed
from the per-CPU-second figures of ``bench/results/latest.json`` (docs/capacity.md).

Pure arithmetic over measured figures; every assumption is a named constant.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DEMO_EVENTS_PER_S = 200  # `bitacora demo` default rate
TARGET_UTILISATION = 0.7  # plan cores so steady load stays at 70% (room for bursts)
STORED_BYTES_PER_EVENT = 370  # measured: primary store size / docs of the benchmark streams
RETENTION_DAYS = 14  # Settings.retention_days default
REPLICAS = 1  # production: one replica per shard
SHARD_TARGET_GB = 30  # keep shards between 10 and 50 GB
MIN_REPLICAS_HA = 2  # never fewer than two collectors / processor workers
NODE_CORES = 8  # OpenSearch data node size
NODE_STORAGE_TB = 8  # usable disk per data node (hot tier)


@dataclass(frozen=True)
class Figures:
    """Per-CPU-second throughput of each component (events per CPU-second)."""

    collector: float
    processor: float  # normalize + index
    alerting_50_rules: float
    opensearch_docs: float  # OpenSearch JVM, per CPU-second, one copy
    kafka: float  # Kafka broker, per CPU-second of produce traffic


@dataclass(frozen=True)
class Plan:
    """What one volume needs."""

    multiple: int
    events_per_s: int
    collectors: int
    processor_workers: int
    alerting_workers: int
    partitions: int
    opensearch_cores: int
    opensearch_nodes: int
    storage_tb: float
    shards_per_day: int


def _cores(rate: float, per_cpu_s: float) -> float:
    return rate / per_cpu_s / TARGET_UTILISATION if per_cpu_s > 0 else math.nan


def _ceil(value: float) -> int:
    """math.ceil, with -1 for a figure that was not measured (NaN)."""
    return math.ceil(value) if math.isfinite(value) else -1


def plan(figures: Figures, multiple: int) -> Plan:
    """Replicas, partitions and OpenSearch size for ``multiple`` x the demo volume."""
    rate = DEMO_EVENTS_PER_S * multiple
    collectors = max(MIN_REPLICAS_HA, _ceil(_cores(rate, figures.collector)))
    workers = max(MIN_REPLICAS_HA, _ceil(_cores(rate, figures.processor)))
    alerting = max(1, _ceil(_cores(rate, figures.alerting_50_rules)))
    # Partitions bound the parallelism of each consumer group: room to double the workers.
    partitions = max(6, 2 ** math.ceil(math.log2(2 * max(workers, alerting))))
    os_cores = _ceil(_cores(rate * (1 + REPLICAS), figures.opensearch_docs))
    per_day_bytes = rate * 86_400 * STORED_BYTES_PER_EVENT
    storage_tb = per_day_bytes * RETENTION_DAYS * (1 + REPLICAS) / 1e12
    # Enough nodes for the indexing CPU and for the disk, at least three for quorum.
    by_cpu = math.ceil(os_cores / NODE_CORES)
    by_disk = math.ceil(storage_tb / NODE_STORAGE_TB)
    nodes = max(3, by_cpu, by_disk) if os_cores >= 0 else -1
    shards_per_day = max(1, math.ceil(per_day_bytes / (SHARD_TARGET_GB * 1e9)))
    return Plan(
        multiple, rate, collectors, workers, alerting, partitions, os_cores, nodes,
        round(storage_tb, 2), shards_per_day,
    )  # fmt: skip


def figures_from(results: dict[str, object]) -> Figures:
    """The per-CPU-second figures out of a ``latest.json``."""
    rows = {r["name"]: r["value"] for r in results["rows"]}  # type: ignore[attr-defined]

    def per_cpu(name: str) -> float:
        value = float(rows.get(name, math.nan))
        return 1000 / value if value > 0 else math.nan

    def rate(name: str) -> float:
        return float(rows.get(name, math.nan))

    return Figures(
        collector=rate("collector_events_per_cpu_second"),
        processor=rate("processor_events_per_cpu_second"),
        alerting_50_rules=rate("alerting_50rules_events_per_cpu_second"),
        opensearch_docs=per_cpu("opensearch_cpu_s_per_1000_docs"),
        kafka=per_cpu("kafka_cpu_s_per_1000_events"),
    )


def table(figures: Figures, multiples: tuple[int, ...] = (1, 10, 100, 1000)) -> str:
    """A markdown table of the plans."""
    head = (
        "| volume | events/s | collectors | processor workers | alerting workers (50 rules) "
        "| partitions | OpenSearch cores (1 replica) | data nodes (8 cores, 8 TB) "
        "| storage 14 d (TB) "
        "| 30 GB shards/day |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for m in multiples:
        p = plan(figures, m)
        lines.append(
            f"| {m}x | {p.events_per_s:,} | {p.collectors} | {p.processor_workers} | "
            f"{p.alerting_workers} | {p.partitions} | {p.opensearch_cores} | "
            f"{p.opensearch_nodes} | {p.storage_tb} | {p.shards_per_day} |"
        )
    return re.sub(r"(?<=\| )-1(?= \|)", "n/a", "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Print the figures and the table for ``latest.json`` (or the given file)."""
    args = argv if argv is not None else sys.argv[1:]
    path = Path(args[0]) if args else Path(__file__).resolve().parent / "results" / "latest.json"
    figures = figures_from(json.loads(path.read_text()))
    print(figures)
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
