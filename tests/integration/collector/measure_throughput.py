"""Quick collector throughput measurement (a script, not a timed test).

    .venv/bin/python -m tests.integration.collector.measure_throughput \
        --bootstrap 127.0.0.1:9092 --events 200000

Starts a Collector in this process on free ports, sends pre-encoded chunked PackedForward
frames over a few connections, waits for every ack, and prints events per CPU-second of
this process (client work included, so the figure is a lower bound for the collector).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import msgpack

from bitacora.collector.app import Collector
from bitacora.collector.forward.encode import packed_forward_frames
from bitacora.settings import Settings


async def _client(port: int, frames: list[bytes]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    unpacker = msgpack.Unpacker(raw=False)
    for frame in frames:
        writer.write(frame)
    await writer.drain()
    acks = 0
    while acks < len(frames):
        data = await reader.read(65536)
        if not data:
            raise RuntimeError("collector closed the connection")
        unpacker.feed(data)
        acks += sum(1 for _ in unpacker)
    writer.close()
    return acks


async def measure(bootstrap: str, events: int, per_frame: int, connections: int) -> None:
    """Run one measurement and print the result."""
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=bootstrap,
        topic_raw=f"logs.raw.bench-{suffix}",
        topic_deadletter=f"logs.deadletter.bench-{suffix}",
        forward_port=0,
        http_port=0,
        otlp_http_port=0,
        otlp_grpc_port=0,
        syslog_port=0,
        syslog_tls_port=0,
    )
    collector = Collector(settings)
    await collector.start()
    frames = packed_forward_frames(events // per_frame, per_frame)
    # warm-up: topic metadata and producer connection
    await _client(collector.forward_port, packed_forward_frames(1, 10))
    share = [frames[i::connections] for i in range(connections)]
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(_client(collector.forward_port, part) for part in share))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await collector.stop()
    sent = len(frames) * per_frame
    print(
        f"{sent} events in {wall:.2f} s wall, {cpu:.2f} s CPU: "
        f"{sent / cpu:,.0f} events/CPU-s, {sent / wall:,.0f} events/s"
    )


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-frame", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(measure(args.bootstrap, args.events, args.per_frame, args.connections))


if __name__ == "__main__":
    main()
