"""``python -m bench.instructions [--events N]``: interpreter instructions per event of the
normalize stage's per-event work (decode the raw record, normalize, encode the JSON).

CPU time depends on what else the machine is doing; an instruction count does not.
``valgrind --tool=callgrind`` runs the same Python program twice, once over no events
and once over ``N`` events of the processor benchmark's traffic (after the same warm-up),
and the difference divided by ``N`` is the per-event count: the same on a busy and an
idle machine, so a change to the normalizer can be judged while other work runs. Both runs
fix ``PYTHONHASHSEED``: with randomized string hashes, dict lookups probe differently in
every process, and the count of one build moved from run to run. With
``--top K`` it also lists the C functions (of the interpreter and the extensions) with the
most instructions per event. ``--stage`` counts the normalize stage instead
(``NormalizeStage.process`` over batches: the role's per-event work short of Kafka, its
outputs and acknowledgements included); the difference to the bare count is the stage's
own share. ``--floor`` counts the least per-event Python that turns the same raw records
into JSON documents (decode, copy the record into a document, encode; no normalization):
the difference to the bare count is what normalizing costs. ``--rules N`` counts the
alerting role's per-event work short of Kafka instead: its route stage over batches of
normalized events (``bench.rules_support.make_events``) with ``make_rules(N)``, and its
evaluation of what each batch forwards; ``--rules 50`` minus ``--rules 1`` is what the
alerting benchmark's 50 rules add (``rules50_cpu_cost``). ``--collector`` counts the
collector's forward input short of the socket and Kafka instead: PackedForward frames of
the collector benchmark's traffic decoded, turned into raw records and bundled. Every
mode runs with the garbage-collector settings of the process it counts
(``bitacora.gctune``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from bitacora.processors.normalize.stage import Message as Read
    from bitacora.rawrecord import RawRecord

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 500  # events normalized before counting: caches filled, code paths imported


class Message(NamedTuple):
    """A Kafka message as the normalize stage reads it (``stage.Message``)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def raw_messages(items: Sequence[tuple[bytes, bytes, int]]) -> list[Message]:
    """``logs.raw`` messages of raw bundles (``(key, value, events)``, as
    ``bench.baselines.raw_bundles`` makes them), at offsets from 0."""
    from bitacora import bundles

    return [Message("logs.raw", 0, n, k, v, bundles.header(e)) for n, (k, v, e) in enumerate(items)]


def stage_batches(messages: Sequence[Message], limit: int) -> Iterator[list[tuple[Message, Read]]]:
    """``messages`` (each its own token) in batches of up to ``limit`` events, as
    ``BatchRole`` hands them to the normalize stage."""
    from bitacora import bundles

    batch: list[tuple[Message, Read]] = []
    taken = 0
    for message in messages:
        events = bundles.events_in(message.headers) or 1
        if batch and taken + events > limit:
            yield batch
            batch, taken = [], 0
        batch.append((message, message))
        taken += events
    if batch:
        yield batch


def floor_document(raw: RawRecord, offset: int) -> dict[str, Any]:
    """The least work that makes a document of a raw record: its fields copied under
    ``labels`` beside its time, arrival, position and tag, nothing checked or parsed."""
    return {
        "@timestamp": raw.time_ns,
        "event.ingested": raw.received_ns,
        "event.id": offset,
        "event.dataset": raw.tag,
        "labels": raw.record,
    }


def work(events: int, measured: bool, mode: str = "bare") -> None:
    """Build ``events`` raw records, warm up, then (``measured``) decode + normalize + encode
    them: both runs build the same records, so the difference is the per-event work. In
    ``stage`` mode the normalize stage does it on the records as the collector writes them
    (bundles, ``bench.baselines.raw_bundles``; ``NormalizeStage.process`` in batches of
    ``bulk_max_docs`` events: the role's per-event work short of Kafka, outputs and acks
    included); in ``floor`` mode :func:`floor_document` stands in for ``normalize``.
    """
    import orjson

    from bench.baselines import raw_bundles, raw_values
    from bench.forward_client import plan_chunks
    from bench.payloads import service_names
    from bitacora import rawrecord
    from bitacora.gctune import tune_for_streaming
    from bitacora.processors.normalize import NormalizeConfig, normalize_json
    from bitacora.processors.normalize.stage import NormalizeStage
    from bitacora.settings import Settings

    plans = plan_chunks("instr", WARMUP + events, WARMUP, service_names("instr"), seed=17)
    values = [value for _key, value in raw_values(plans)]
    settings = Settings()
    config = NormalizeConfig.from_settings(settings)
    normalizer: NormalizeStage[Message] = NormalizeStage(settings)
    # Chunks of WARMUP events: the first is the warm-up.
    warm = raw_messages(raw_bundles(plans[:1]))
    rest = raw_messages(raw_bundles(plans[1:]))
    tune_for_streaming()  # as the processor runs
    for offset, value in enumerate(values[:WARMUP]):
        normalize_json(rawrecord.decode(value), 0, offset, config)
    normalizer.process([(m, m) for m in warm], 0)
    if not measured:
        return
    if mode == "floor":
        for offset, value in enumerate(values[WARMUP:]):
            orjson.dumps(floor_document(rawrecord.decode(value), offset))
        return
    if mode == "stage":
        for batch in stage_batches(rest, settings.bulk_max_docs):
            normalizer.process(batch, 0)
        return
    for offset, value in enumerate(values[WARMUP:]):
        normalize_json(rawrecord.decode(value), 0, offset, config)


def alerting_work(events: int, measured: bool, rules: int) -> None:
    """Route ``events`` normalized events in batches as the route stage takes them, and
    evaluate each batch's keyed records, with ``make_rules(rules)`` (after a warm-up of the
    same traffic; both runs build the same events, so the difference is per-event work)."""
    import orjson

    from bench.rules_support import make_events, make_rules
    from bitacora.gctune import tune_for_streaming
    from bitacora.processors.alerting.detector import Detector
    from bitacora.processors.alerting.route_stage import ROUTE_BATCH
    from bitacora.processors.alerting.state_cache import StateCache
    from bitacora.settings import Settings

    values = [orjson.dumps(event) for event in make_events(WARMUP + events)]
    detector = Detector(make_rules(rules), Settings())
    table: dict[bytes, bytes] = {}  # the detect-state table's place (a plain dict here)
    cache = StateCache()
    now = 1_800_000_000.0 + (WARMUP + events) / 1000  # just after the last event (1 ms apart)

    def drain(batch_values: list[bytes]) -> None:
        for at in range(0, len(batch_values), ROUTE_BATCH):
            _alerts, keyed = detector.route_values(batch_values[at : at + ROUTE_BATCH], now)
            records = [value for _partition, value in keyed.records()]
            detector.evaluate_values(cache, table, records, now)

    tune_for_streaming()  # as the processor runs
    drain(values[:WARMUP])
    if measured:
        drain(values[WARMUP:])


def collector_work(events: int, measured: bool) -> None:
    """Take PackedForward frames of the collector benchmark's traffic (500 events each) as
    the forward input does, short of the socket and Kafka: decode each request, build its
    raw records (the senders' record bytes kept) and bundle them per service."""
    from bench.forward_client import encode_chunks, plan_chunks
    from bench.payloads import service_names
    from bitacora.collector.forward.decode import ForwardDecoder
    from bitacora.collector.records import bundle, raw_records, split_oversized
    from bitacora.gctune import tune_for_streaming
    from bitacora.settings import Settings

    per_chunk = 500  # bench.collector_bench's chunks
    plans = plan_chunks("instr", WARMUP + events, per_chunk, service_names("instr"), seed=11)
    frames = [chunk.frame for chunk in encode_chunks("instr", plans)]
    limit = Settings().kafka_record_limit
    decoder = ForwardDecoder(1 << 26, 1 << 26, key_fields_only=True)  # as the server

    def take(batch: list[bytes]) -> None:
        for frame in batch:
            for req in decoder.feed(frame):
                records = raw_records(
                    req.tag,
                    req.entries,
                    1,
                    "peer",
                    "forward",
                    "chunk",
                    services=req.services,
                    packed=req.packed,
                )
                kept, _too_large = split_oversized(records, limit)
                bundle(kept, limit)

    warm = WARMUP // per_chunk
    tune_for_streaming()  # as the collector runs (bitacora.cli.collector_cmd)
    take(frames[:warm])
    if measured:
        take(frames[warm:])


# A fixed hash seed makes the count repeatable (see the module docstring).
_FIXED_HASHES: Final = {**os.environ, "PYTHONHASHSEED": "0"}


def _callgrind(events: int, measured: bool, mode: list[str], out: Path) -> int:
    """Total instructions of the work ``mode`` names, in a fresh interpreter."""
    run = subprocess.run(  # fixed arguments, our own program
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
         "-m", "bench.instructions", "--events", str(events), "--work", str(int(measured)),
         *mode],
        cwd=ROOT, capture_output=True, text=True, check=True, env=_FIXED_HASHES,
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no total:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def _functions(out: Path) -> Counter[str]:
    """Instructions per C function of a callgrind output file."""
    text = subprocess.run(
        ["callgrind_annotate", "--threshold=100", "--auto=no", str(out)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        found = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S+)", line)
        if found and "PROGRAM" not in line:
            name = re.sub(r"'\d+$", "", found.group(2).rsplit(":", 1)[-1])
            counts[name] += int(found.group(1).replace(",", ""))
    return counts


def main(argv: list[str] | None = None) -> int:
    """Print the instructions per event (and with ``--top``, where they go)."""
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--events", type=int, default=2000, help="events counted (default 2000)")
    parser.add_argument("--top", type=int, default=0, help="also list the K costliest functions")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--stage", action="store_const", const="stage", dest="mode",
        help="count the normalize stage (batches, outputs, acks) instead of the bare functions",
    )  # fmt: skip
    which.add_argument(
        "--floor", action="store_const", const="floor", dest="mode",
        help="count decode + copy into a document + encode, without normalizing",
    )  # fmt: skip
    which.add_argument(
        "--collector", action="store_const", const="collector", dest="mode",
        help="count the collector's forward input (decode, raw records, bundles) instead",
    )  # fmt: skip
    which.add_argument(
        "--rules", type=int, metavar="N",
        help="count the alerting role's route and evaluation with N benchmark rules instead",
    )  # fmt: skip
    parser.add_argument("--work", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    mode = "rules" if args.rules is not None else args.mode or "bare"
    if args.work is not None:
        if mode == "rules":
            alerting_work(args.events, bool(args.work), args.rules)
        elif mode == "collector":
            collector_work(args.events, bool(args.work))
        else:
            work(args.events, bool(args.work), mode)
        return 0
    if shutil.which("valgrind") is None:
        print("error: valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "empty.out", Path(tmp) / "full.out"
        print(f"counting instructions under callgrind ({args.events} events)…", file=sys.stderr)
        flags = {
            "bare": [],
            "stage": ["--stage"],
            "floor": ["--floor"],
            "collector": ["--collector"],
            "rules": ["--rules", str(args.rules)],
        }[mode]
        counted = _callgrind(args.events, True, flags, full) - _callgrind(
            args.events, False, flags, empty
        )
        per_event = counted / args.events
        what = {
            "bare": "decode + normalize + encode",
            "stage": "normalize stage",
            "floor": "decode + copy into a document + encode (no normalizing)",
            "collector": "collector, forward input (decode, raw records, bundles)",
            "rules": f"alerting route + evaluation, {args.rules} rule(s)",
        }[mode]
        print(f"{what}: {per_event:,.0f} instructions per event")
        if args.top:
            before, after = _functions(empty), _functions(full)
            diff = {name: (after[name] - before[name]) / args.events for name in after}
            for name, count in sorted(diff.items(), key=lambda kv: -kv[1])[: args.top]:
                print(f"{count:10,.0f}  {100 * count / per_event:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
