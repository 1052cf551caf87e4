"""``python -m bench.kafka_client_bench [--events N] [--repeat R]``: the Kafka client's CPU
per record on the processor's two hops, aiokafka against librdkafka's (confluent-kafka).

Both clients run in the same run, ``R`` times, alternating which goes first (A B, B A, …);
each figure is the median of the repetitions with the lowest and highest beside it.

Records hold one event each, as both hops carried them before bundles (``bitacora.bundles``):
the figures compare the clients per record.

- consume: read the ``N`` raw records of a fresh topic (``bench.baselines.raw_values``: one
  event's raw record each, preloaded compressed as ``kafka_compression``) in the
  normalize role's batches: up to ``bulk_max_docs`` records, at most 50 ms to fill one,
  a commit of the batch's offsets after each. aiokafka as ``BatchRole`` does (``getmany``,
  auto-commit off, ``await commit(offsets)``); confluent-kafka with ``consume(num_messages,
  timeout)`` and ``commit(offsets, asynchronous=False)``: BatchRole waits for its commit
  before it counts as done, and a synchronous commit keeps that contract. Partitions are
  assigned rather than subscribed (joining a group is a cost per start, not per record);
  the commits still go to a consumer group. Both read every record's value and check that
  each partition's offsets arrive in order and once, and that the group's committed
  offsets end at the topic's end offsets.
- produce: the normalize stage's outputs for the same records (JSON events keyed by
  service, with the event id header) to a fresh topic, until Kafka acknowledged all.
  aiokafka through ``processors/shell/produce.py`` (``enqueue`` + ``settle`` on a ``Sink``,
  up to ``processor_batches_in_flight`` batches in flight) as the normalize role does;
  confluent-kafka with ``produce`` per record (a delivery callback each), ``poll(0)`` per
  batch and ``flush`` at the end. Both are idempotent with acks=all, ``kafka_linger_ms``,
  the same compression (``--compression``, default ``kafka_compression``) and Kafka's
  default partitioner (murmur2): each partition must end up holding the same number of
  records on both sides, and the topic exactly ``N``.

Both clients connect with the ``BITACORA_KAFKA_*`` security settings (TLS, client
certificates, SASL: ``bitacora.clients``). The run deletes its topics and consumer groups
when it ends, also when it fails.

CPU is ``time.process_time()``: every thread of this process, librdkafka's included.
Kafka's CPU (when the local stack runs it here) counts whatever else uses the broker in
the same window: on a shared stack it is an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import get_args

import confluent_kafka
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from bench import services
from bench.baselines import raw_values, stack_pid
from bench.forward_client import plan_chunks
from bench.kafka_client_hops import (
    STALL_S,
    consume_aiokafka,
    consume_confluent,
    librdkafka_producer,
    produce_aiokafka,
    produce_confluent,
    wait_leaders,
)
from bench.kafka_client_rows import Sample, client_rows
from bench.payloads import service_names
from bench.results import aggregate, table
from bitacora import clients, rawrecord
from bitacora.eventloop import use_event_loop
from bitacora.processors.normalize import NormalizeConfig, normalize, to_json_bytes
from bitacora.processors.normalize.stage import ID_HEADER, Output
from bitacora.settings import KafkaCompression, Settings

COMPRESSIONS: tuple[KafkaCompression, ...] = get_args(KafkaCompression)


def normalized_outputs(settings: Settings, values: Sequence[bytes], topic: str) -> list[Output]:
    """The normalize stage's output for each raw record value, bound for ``topic``."""
    config = NormalizeConfig.from_settings(settings)
    out = []
    for offset, value in enumerate(values):
        doc = normalize(rawrecord.decode(value), 0, offset, config)
        out.append(
            Output(topic, doc["service.name"].encode(), to_json_bytes(doc),
                   [(ID_HEADER, doc["event.id"].encode())])
        )  # fmt: skip
    return out


async def _partition_counts(settings: Settings, topic: str, partitions: int) -> dict[int, int]:
    consumer = clients.kafka_consumer(settings)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # a topic created moments ago
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {tp.partition: ends[tp] for tp in tps}


async def _produce(
    client: str, settings: Settings, outputs: Sequence[Output], compression: KafkaCompression,
    kafka_pid: int | None, partitions: int, scratch: str,
) -> tuple[Sample, dict[int, int]]:  # fmt: skip
    topic = outputs[0].topic
    await services.create_topics(settings.kafka_bootstrap, [topic], partitions)
    wait_leaders(settings, topic, partitions)
    if client == "aiokafka":
        window = await produce_aiokafka(settings, outputs, compression, kafka_pid, scratch)
    else:
        window = produce_confluent(settings, outputs, compression, kafka_pid, scratch)
    counts = await _partition_counts(settings, topic, partitions)
    if sum(counts.values()) != len(outputs):
        raise RuntimeError(f"{client}: the topic holds {sum(counts.values())} of {len(outputs)}")
    size = sum(len(o.value) for o in outputs)
    sample = Sample("produce", client, len(outputs), window.cpu_s, window.wall_s,
                    window.kafka_cpu_s, size)  # fmt: skip
    return sample, counts


async def measure(
    settings: Settings,
    events: int,
    repeat: int,
    compression: KafkaCompression,
    *,
    warmup: int = 500,
    rid: str | None = None,
) -> list[list[Sample]]:
    """The samples of each repetition (a first small untimed round warms both clients).

    Every topic and consumer group of the run is named ``bench-kc-<rid>…`` (``rid``: a new
    :func:`bench.services.run_id` unless given) and deleted at the end.
    """
    rid = rid or services.run_id()
    partitions = settings.topic_partitions
    topics: list[str] = []
    groups: list[str] = []
    plans = plan_chunks(f"kc{rid}", events, 500, service_names(f"kc{rid}"), seed=17)
    raws = raw_values(plans)
    kafka_pid = stack_pid(settings, "kafka")
    try:
        source, scratch = f"bench-kc-{rid}.raw", f"bench-kc-{rid}.warm-up"
        topics += [source, scratch]
        await services.create_topics(settings.kafka_bootstrap, [source, scratch], partitions)
        wait_leaders(settings, source, partitions)
        wait_leaders(settings, scratch, partitions)
        preload = librdkafka_producer(settings, settings.kafka_compression)
        for key, value in raws:
            preload.produce(source, value, key)
            preload.poll(0)
        if preload.flush(STALL_S):
            raise RuntimeError("preloading the raw records did not finish")
        ends = await _partition_counts(settings, source, partitions)
        if sum(ends.values()) != events:
            raise RuntimeError(f"preloaded {sum(ends.values())} of {events} raw records")
        normalized = normalized_outputs(settings, [value for _key, value in raws], "")
        reps: list[list[Sample]] = []
        for rep in range(-1, repeat):  # -1: the warm-up round, not reported
            order = ("aiokafka", "confluent") if rep % 2 == 0 else ("confluent", "aiokafka")
            samples, produced = [], {}
            for client in order:
                group = f"bench-kc-{rid}-{client}-{rep + 1}"
                groups.append(group)
                if client == "aiokafka":
                    got = await consume_aiokafka(settings, source, ends, group, kafka_pid)
                else:
                    got = consume_confluent(settings, source, ends, group, kafka_pid)
                samples.append(got)
            for client in order:
                topic = f"bench-kc-{rid}.{client}-{rep + 1}"
                topics.append(topic)
                base = [o._replace(topic=topic) for o in normalized[: warmup if rep < 0 else None]]
                sample, produced[client] = await _produce(
                    client, settings, base, compression, kafka_pid, partitions, scratch
                )
                samples.append(sample)
            if produced["aiokafka"] != produced["confluent"]:
                raise RuntimeError(f"partitions differ: {produced}")
            if rep >= 0:
                reps.append(samples)
        return reps
    finally:
        await services.delete_topics(settings.kafka_bootstrap, topics, groups=groups)


def main(argv: list[str] | None = None) -> int:
    """Print the table of both clients' CPU per record on both hops."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.kafka_client_bench", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--events", type=int, default=50_000, help="records per hop (50000)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (3)")
    parser.add_argument(
        "--compression", choices=COMPRESSIONS, default=None,
        help="producer compression of both clients (default: BITACORA_KAFKA_COMPRESSION)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    settings = Settings()
    compression = args.compression or settings.kafka_compression
    if args.events < 1 or args.repeat < 1:
        parser.error("--events and --repeat must be at least 1")
    use_event_loop(settings.event_loop)  # aiokafka's side runs on the processor's loop
    try:
        reps = asyncio.run(measure(settings, args.events, args.repeat, compression))
    except (ValueError, RuntimeError, KafkaError, confluent_kafka.KafkaException) as exc:
        print(f"error: {exc} (is Kafka up? `bitacora stack status`)", file=sys.stderr)
        return 1
    versions = (
        f"aiokafka {metadata.version('aiokafka')}, confluent-kafka "
        f"{metadata.version('confluent-kafka')} (librdkafka {confluent_kafka.libversion()[0]})"
    )
    print(
        f"{args.events} records per hop, {args.repeat} repetitions (median, lowest..highest), "
        f"compression {compression}, batches of {settings.bulk_max_docs}; {versions}; "
        "ratio = confluent / aiokafka"
    )
    print(table(aggregate([client_rows(samples) for samples in reps])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
