"""HTTP ingestion end to end on the real Kafka: formats, auth, limits, health, metrics."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from bench.procs import free_port
from bitacora.collector.app import Collector
from bitacora.settings import Settings
from tests.integration.collector.helpers import read_raw, read_topic

S = 1_000_000_000


def url(collector: Collector, path: str) -> str:
    return f"http://127.0.0.1:{collector.http_port}{path}"


async def post(
    collector: Collector, path: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url(collector, path), data=body, headers=headers or {}) as response,
    ):
        return response.status, await response.text()


async def get(collector: Collector, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url(collector, path)) as response:
        return response.status, await response.text()


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (json.dumps({"message": "one", "time": 1700000000.5}).encode(), JSON),
        (json.dumps([{"message": "one", "time": 1700000000.5}]).encode(), JSON),
        (b'{"message": "one", "time": 1700000000.5}\n', {"Content-Type": "application/x-ndjson"}),
        (b'{"message": "one", "time": 1700000000.5}\n\n', {}),
        (
            gzip.compress(json.dumps([{"message": "one", "time": 1700000000.5}]).encode()),
            {**JSON, "Content-Encoding": "gzip"},
        ),
        (
            b"json=" + json.dumps({"message": "one", "time": 1700000000.5}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ],
    ids=["object", "array", "ndjson", "ndjson-detected", "gzip", "form"],
)
async def test_one_event_in_every_format(
    collector: Collector,
    kafka_bootstrap: str,
    topics: tuple[str, str],
    body: bytes,
    headers: dict[str, str],
) -> None:
    assert await post(collector, "/shop/web", body, headers) == (200, "")
    [raw] = await read_raw(kafka_bootstrap, topics[0], 1)
    assert (raw.tag, raw.time_ns, raw.record, raw.transport, raw.chunk, raw.position) == (
        "shop.web",
        1_700_000_000_500_000_000,
        {"message": "one"},
        "http",
        None,
        0,
    )


async def test_batches_keep_order_and_positions(
    collector: Collector, kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    lines = [{"service": "order-service", "i": i, "time": 1_700_000_000 + i} for i in range(500)]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    assert await post(collector, "/orders", body, {"Content-Type": "application/x-ndjson"}) == (
        200,
        "",
    )
    raws = await read_raw(kafka_bootstrap, topics[0], 500)
    assert [(r.time_ns, r.record, r.position) for r in raws] == [
        ((1_700_000_000 + i) * S, {"service": "order-service", "i": i}, i) for i in range(500)
    ]


async def test_a_retry_with_the_same_idempotency_key_maps_to_the_same_event_ids(
    collector: Collector, kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    body = b'{"message": "a"}\n{"message": "b"}\n'
    headers = {"Content-Type": "application/x-ndjson", "Idempotency-Key": "req-7"}
    assert await post(collector, "/orders", body, headers) == (200, "")
    assert await post(collector, "/orders", body, headers) == (200, "")
    assert await post(collector, "/orders", body, {"Content-Type": "application/x-ndjson"}) == (
        200,
        "",
    )
    raws = await read_raw(kafka_bootstrap, topics[0], 6)
    assert [(r.chunk, r.position) for r in raws] == [
        ("http:req-7", 0),
        ("http:req-7", 1),
        ("http:req-7", 0),
        ("http:req-7", 1),
        (None, 0),
        (None, 1),
    ]


async def test_query_time_and_invalid_items(
    collector: Collector, kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    body = b'{"a": 1}\n[1, 2]\nnot json\n{"a": 2}\n'
    status, _ = await post(
        collector, "/q?time=1700000001", body, {"Content-Type": "application/x-ndjson"}
    )
    assert status == 200
    raws = await read_raw(kafka_bootstrap, topics[0], 2)
    assert [(r.time_ns, r.record) for r in raws] == [
        (1_700_000_001 * S, {"a": 1}),
        (1_700_000_001 * S, {"a": 2}),
    ]
    letters = [json.loads(r.value) for r in await read_topic(kafka_bootstrap, topics[1], 2)]
    assert sorted(d["deadletter"]["reason"] for d in letters) == ["bad_json", "bad_record"]


async def test_bad_bodies(collector: Collector) -> None:
    assert (await post(collector, "/t", b"{not json", JSON))[0] == 400
    assert (await post(collector, "/t", b"x", {"Content-Encoding": "gzip"}))[0] == 400
    assert (await post(collector, "/t?time=soon", b"{}", JSON))[0] == 400


async def test_bearer_token(
    make_settings: Callable[..., Settings], start_collector: Callable[[Settings], Any]
) -> None:
    collector = await start_collector(make_settings(http_token="t0ken"))
    assert (await post(collector, "/t", b"{}", JSON))[0] == 401
    assert (await post(collector, "/t", b"{}", {**JSON, "Authorization": "Bearer nope"}))[0] == 401
    assert (await post(collector, "/t", b"{}", {**JSON, "Authorization": "Bearer t0ken"}))[0] == 200
    assert collector.metrics.rejections.get("http", "unauthorized") == 2


async def test_body_limits(
    make_settings: Callable[..., Settings], start_collector: Callable[[Settings], Any]
) -> None:
    collector = await start_collector(
        make_settings(max_http_body_bytes=4096, max_decompressed_bytes=64 * 1024)
    )
    big = json.dumps({"m": "x" * 5000}).encode()
    assert (await post(collector, "/t", big, JSON))[0] == 413
    bomb = gzip.compress(b"[" + b" " * (3 * 1024 * 1024) + b"]")
    assert len(bomb) < 4096
    assert (await post(collector, "/t", bomb, {**JSON, "Content-Encoding": "gzip"}))[0] == 413
    assert (await post(collector, "/t", b'{"small": 1}', JSON))[0] == 200


async def test_kafka_unreachable_means_503(
    make_settings: Callable[..., Settings], start_collector: Callable[[Settings], Any]
) -> None:
    closed_port = free_port()  # a port nothing listens on
    collector = await start_collector(make_settings(kafka_bootstrap=f"127.0.0.1:{closed_port}"))
    assert (await post(collector, "/t", b'{"a": 1}', JSON))[0] == 503
    assert (await get(collector, "/readyz")) == (503, "kafka unavailable\n")
    assert (await get(collector, "/healthz")) == (200, "ok\n")  # alive: no restart loop


async def test_healthz_and_metrics(collector: Collector, kafka_bootstrap: str) -> None:
    assert await get(collector, "/healthz") == (200, "ok\n")
    assert await get(collector, "/readyz") == (200, "ok\n")
    assert (await post(collector, "/metrics.test", b'[{"a": 1}, {"a": 2}]', JSON))[0] == 200
    status, text = await get(collector, "/metrics")
    assert status == 200
    assert 'bitacora_collector_events_total{source="http",tag="metrics.test"} 2.0\n' in text
    assert 'bitacora_collector_acks_total{source="http"} 1.0\n' in text
    assert "bitacora_collector_produce_latency_seconds_count 1.0\n" in text
    assert "# TYPE bitacora_collector_open_connections gauge" in text


async def test_invalid_utf8_is_kept_for_the_processor_to_repair(
    collector: Collector, kafka_bootstrap: str, topics: tuple[str, str]
) -> None:
    body = b'[{"message": "ok \xff\xfe end", "nul": "a\\u0000b"}, {"message": "fine"}]'
    assert await post(collector, "/utf", body, JSON) == (200, "")
    raws = await read_raw(kafka_bootstrap, topics[0], 2)
    assert sorted(r.record["message"] for r in raws) == ["fine", "ok \udcff\udcfe end"]
    assert [r.record.get("nul") for r in raws if "nul" in r.record] == ["a\x00b"]
