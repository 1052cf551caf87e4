"""run_collector in a shared loop, and the `bitacora collector` command with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import msgpack
from fluent import sender as fluent_sender

from bench.procs import free_port
from bitacora.collector.app import run_collector
from bitacora.collector.forward import encode
from bitacora.settings import Settings
from tests.integration.collector.helpers import read_raw

T = 1_700_000_000


async def test_run_collector_serves_until_cancelled_then_flushes(
    make_settings: Callable[..., Settings], kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    forward_port, http_port = free_port(), free_port()
    settings = make_settings(forward_port=forward_port, http_port=http_port)
    ready = asyncio.Event()
    task = asyncio.create_task(run_collector(settings, ready=ready))
    await asyncio.wait_for(ready.wait(), 30)
    reader, writer = await asyncio.open_connection("127.0.0.1", forward_port)
    writer.write(encode.packed_forward_frames(1, 100)[0])
    await writer.drain()

    def received() -> bool:
        url = f"http://127.0.0.1:{http_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text: str = response.read().decode()
        return 'bitacora_collector_requests_total{source="forward"} 1.0' in text

    while not await asyncio.to_thread(received):  # noqa: ASYNC110 (polls another server)
        await asyncio.sleep(0.005)
    task.cancel()  # the request was read: it must still reach Kafka and be acked
    ack = await asyncio.wait_for(reader.read(), 30)
    assert msgpack.unpackb(ack) == {"ack": "bench-00000000\n"}
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 30)
    assert len(await read_raw(kafka_bootstrap, topics[0], 100)) == 100
    for port in (forward_port, http_port):  # both ports are closed again
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0


_OTHER_INPUTS = ("OTLP_HTTP", "OTLP_GRPC", "SYSLOG", "SYSLOG_TLS")


async def test_bitacora_collector_command(kafka_bootstrap: str, topics: tuple[str, str]) -> None:
    forward_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "BITACORA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "BITACORA_TOPIC_RAW": topics[0],
        "BITACORA_TOPIC_DEADLETTER": topics[1],
        **{f"BITACORA_{name}_PORT": str(free_port()) for name in _OTHER_INPUTS},
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitacora", "collector",
        "--forward-port", str(forward_port), "--http-port", str(http_port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60

        def healthy() -> bool:
            try:
                url = f"http://127.0.0.1:{http_port}/readyz"
                with urllib.request.urlopen(url, timeout=2) as response:
                    status: int = response.status
                    return status == 200
            except OSError:
                return False

        while not await asyncio.to_thread(healthy):
            assert proc.returncode is None, "bitacora collector exited"
            assert time.monotonic() < deadline, "bitacora collector never became healthy"
            await asyncio.sleep(0.2)

        def send() -> Any:
            client = fluent_sender.FluentSender("cli", host="127.0.0.1", port=forward_port)
            ok = client.emit_with_time("test", T, {"via": "cli"})
            client.close()
            return ok

        assert await asyncio.to_thread(send)
        [raw] = await read_raw(kafka_bootstrap, topics[0], 1)
        assert (raw.tag, raw.record) == ("cli.test", {"via": "cli"})
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
