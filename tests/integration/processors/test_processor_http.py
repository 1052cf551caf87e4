"""A processor worker's /healthz, /readyz and /metrics, on the real Kafka and OpenSearch."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from aiokafka import AIOKafkaProducer

from bench.procs import free_port
from bitacora import rawrecord
from bitacora.rawrecord import RawRecord
from bitacora.settings import Settings
from tests.reliability.harness import Pipeline, metric, wait_until


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


async def _answers(port: int, path: str, status: int) -> tuple[int, str] | None:
    got = _get(port, path)
    return got if got[0] == status else None


async def test_counts_lag_and_readiness_of_the_normalize_role(settings: Settings) -> None:
    run = Pipeline(settings)
    port = free_port()
    run.extra_env["BITACORA_PROCESSOR_HTTP_PORT"] = str(port)
    await run.create_topics()
    try:
        run.start_processor(roles=("normalize",))
        assert await wait_until(lambda: _answers(port, "/readyz", 200), 90, "ready") == (
            200,
            "ready\n",
        )
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for i in range(5):
                now = time.time_ns()
                raw = RawRecord(
                    "app.web", now, {"message": f"hi {i}"}, now, "test", "http", None, i
                )
                await producer.send_and_wait(
                    run.env["BITACORA_TOPIC_RAW"], rawrecord.encode(raw), key=b"app", partition=0
                )
            await producer.send_and_wait(run.env["BITACORA_TOPIC_RAW"], b"\xc1", partition=0)
        finally:
            await producer.stop()

        async def counted() -> bool:
            return await metric(port, "bitacora_events_in_total", role="normalize") == 6.0

        await wait_until(counted, 60, "six records read")
        assert await metric(port, "bitacora_events_out_total", role="normalize") == 5.0
        assert await metric(port, "bitacora_deadletters_total", role="normalize") == 1.0
        topic = run.env["BITACORA_TOPIC_RAW"]

        async def caught_up() -> bool:
            status, text = _get(port, "/metrics")
            line = f'bitacora_consumer_lag{{partition="0",role="normalize",topic="{topic}"}} 0.0'
            return status == 200 and line in text

        await wait_until(caught_up, 30, "partition 0's lag of 0")
        run.assert_alive()
    finally:
        await run.cleanup()


async def test_index_role_is_alive_but_not_ready_without_opensearch(settings: Settings) -> None:
    closed = free_port()  # a port nothing listens on
    run = Pipeline(settings)
    port = free_port()
    run.extra_env.update(
        BITACORA_PROCESSOR_HTTP_PORT=str(port),
        BITACORA_OPENSEARCH_URL=f"http://127.0.0.1:{closed}",
    )
    await run.create_topics()
    try:
        run.start_processor(roles=("index",))
        await wait_until(lambda: _answers(port, "/readyz", 503), 90, "an unready index role")
        # Joined with partitions, or not yet: either way OpenSearch is the reason in the end.
        await wait_until(
            lambda: _answers_with(port, "OpenSearch unreachable (ClientConnectorError)\n"),
            90,
            "OpenSearch named as the reason",
        )
        assert _get(port, "/healthz") == (200, "ok\n")
        run.assert_alive()
    finally:
        await run.cleanup()


async def _answers_with(port: int, body: str) -> bool:
    return _get(port, "/readyz") == (503, body)
