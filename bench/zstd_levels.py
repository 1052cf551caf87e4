"""``python -m bench.zstd_levels [--levels 1,3] [--events N] [--repeat K]``: what each zstd
level costs on the pipeline's own Kafka records.

The producers compress their batches at ``BITACORA_KAFKA_ZSTD_LEVEL``
(``bitacora/kafkacodec.py``). This compresses what the two hops carry for the benchmark
traffic, as Kafka batches hold them: the collector's ``logs.raw`` bundles
(``bench.baselines.raw_bundles``) and the normalize stage's ``logs.normalized`` bundles of
the same events (``NormalizeStage.process`` in batches of ``bulk_max_docs`` events), with
the codec aiokafka calls (``aiokafka.codec.zstd_encode``). Per level and hop it prints the
CPU µs per event (this process's CPU time; the median of ``--repeat`` rounds that
alternate the levels, with the lowest and highest) and the compression ratio (bytes in ÷
bytes out). A level is checked to give back the bytes it was given before it is timed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from typing import NamedTuple

from aiokafka import codec


class Level(NamedTuple):
    """One level on one hop's records."""

    hop: str
    level: int
    us_per_event: float  # median of the rounds
    low: float
    high: float
    ratio: float  # bytes in / bytes out


def hop_values(events: int) -> dict[str, tuple[list[bytes], int]]:
    """Per hop, its records' values for ``events`` events of the benchmark traffic (the
    processor benchmark's chunks of 500) and how many events they hold."""
    from bench.baselines import raw_bundles
    from bench.forward_client import plan_chunks
    from bench.instructions import Message, raw_messages, stage_batches
    from bench.payloads import service_names
    from bitacora.processors.normalize.stage import NormalizeStage
    from bitacora.settings import Settings

    settings = Settings()
    raw = raw_bundles(plan_chunks("zstd", events, 500, service_names("zstd"), seed=17))
    stage: NormalizeStage[Message] = NormalizeStage(settings)
    normalized = [
        out.value
        for batch in stage_batches(raw_messages(raw), settings.bulk_max_docs)
        for out in stage.process(batch, 0).outputs
    ]
    total = sum(count for _key, _value, count in raw)
    return {
        "logs.raw": ([value for _key, value, _count in raw], total),
        "logs.normalized": (normalized, total),
    }


def measure(
    hops: dict[str, tuple[list[bytes], int]], levels: Sequence[int], repeat: int
) -> list[Level]:
    """Each level on each hop's values, the levels alternating within every round."""
    samples: dict[tuple[str, int], list[float]] = {}
    ratios: dict[tuple[str, int], float] = {}
    for hop, (values, _events) in hops.items():
        for level in levels:
            packed = [codec.zstd_encode(value, level=level) for value in values]
            if [codec.zstd_decode(p) for p in packed] != values:
                raise RuntimeError(f"zstd level {level} did not give back the {hop} records")
            ratios[hop, level] = sum(map(len, values)) / sum(map(len, packed))
    for _round in range(repeat):
        for hop, (values, events) in hops.items():
            for level in levels:
                start = time.process_time()
                for value in values:
                    codec.zstd_encode(value, level=level)
                used = time.process_time() - start
                samples.setdefault((hop, level), []).append(1e6 * used / events)
    return [
        Level(hop, level, statistics.median(got), min(got), max(got), ratios[hop, level])
        for (hop, level), got in samples.items()
    ]


def table(rows: Sequence[Level]) -> str:
    """The printed table."""
    lines = [f"{'hop':<16} {'level':>5} {'µs/event':>9} {'spread':>13} {'ratio':>6}"]
    lines += [
        f"{r.hop:<16} {r.level:>5} {r.us_per_event:>9.3f} "
        f"{f'{r.low:.3f}-{r.high:.3f}':>13} {r.ratio:>6.2f}"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.zstd_levels", description=__doc__)
    parser.add_argument("--levels", default="1,3", help="zstd levels, comma-separated")
    parser.add_argument("--events", type=int, default=20_000, help="events of traffic")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    args = parser.parse_args(argv)
    try:
        levels = [int(level) for level in args.levels.split(",")]
    except ValueError:
        parser.error(f"--levels: {args.levels!r} is not comma-separated integers")
    print(f"compressing {args.events} events' records, {args.repeat} rounds…", flush=True)
    print(table(measure(hop_values(args.events), levels, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
