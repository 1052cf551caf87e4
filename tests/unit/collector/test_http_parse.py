"""Pure parts of the HTTP source and the metrics registry."""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest
from prometheus_client import CollectorRegistry

from bitacora.collector.budget import ByteBudget
from bitacora.collector.forward.server import ack_frame
from bitacora.collector.http import BadBody, parse_body, query_time_ns, tag_of, to_events
from bitacora.collector.metrics import MAX_SERIES, CollectorMetrics, Counter

S = 1_000_000_000


@pytest.mark.parametrize(
    ("body", "content_type", "items", "rejects"),
    [
        (b'{"a": 1}', "application/json", [{"a": 1}], []),
        (b'[{"a": 1}, {"b": 2}]', "application/json", [{"a": 1}, {"b": 2}], []),
        (b'{"a": 1}\n{"b": 2}\n', "application/x-ndjson", [{"a": 1}, {"b": 2}], []),
        (b'{"a": 1}\n{"b": 2}', "application/json", [{"a": 1}, {"b": 2}], []),  # detected
        (b'{"a": 1}\r\n\r\nnope\n', "", [{"a": 1}], [("bad_json", b"nope")]),
        (msgpack.packb([{"a": 1}]), "application/msgpack", [{"a": 1}], []),
        (b'{"m": "ok\xff"}', "application/json", [{"m": "ok\udcff"}], []),
        (b'{"m": "\xe2\x80\xa8"}\n\xff\n', "", [{"m": "\u2028"}], [("bad_json", b"\xff")]),
    ],
)
def test_parse_body(
    body: bytes, content_type: str, items: list[Any], rejects: list[tuple[str, bytes]]
) -> None:
    assert parse_body(body, content_type) == (items, rejects)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{nope", "application/json"), (b"nope\nnever", ""), (b"\xc1", "application/msgpack")],
)
def test_unreadable_bodies(body: bytes, content_type: str) -> None:
    with pytest.raises(BadBody):
        parse_body(body, content_type)


def test_to_events_takes_numeric_time_fields() -> None:
    items = [{"time": 1_700_000_000.25, "m": 1}, {"time": "noon", "m": 2}, {"m": 3}, [1], True]
    events, rejects = to_events(items, 7)
    assert events == [
        (1_700_000_000 * S + 250_000_000, {"m": 1}),
        (7, {"time": "noon", "m": 2}),
        (7, {"m": 3}),
    ]
    assert rejects == [("bad_record", b"[1]"), ("bad_record", b"true")]


def test_query_time_and_tags() -> None:
    assert query_time_ns("1700000000.5") == 1_700_000_000_500_000_000
    assert query_time_ns("soon") is None
    assert query_time_ns("-1") is None
    assert tag_of("/a/b/") == "a.b"
    assert tag_of("shop.web") == "shop.web"


def test_ack_frame_keeps_the_chunk_type() -> None:
    assert ack_frame("abc\n") == b"\x81\xa3ack\xa4abc\n"
    assert ack_frame(b"\x01") == b"\x81\xa3ack\xc4\x01\x01"
    assert ack_frame("\udcff") == b"\x81\xa3ack\xa1\xff"  # invalid UTF-8 echoed unchanged


def test_metrics_render_prometheus_text() -> None:
    metrics = CollectorMetrics()
    metrics.events.inc("forward", 'we"ird\ntag', amount=3)
    metrics.events.inc("forward", "bad\udcff")
    metrics.produce_latency.observe(0.003)
    metrics.produce_latency.observe(20)
    metrics.connections.set(2)
    text = metrics.render()
    assert 'bitacora_collector_events_total{source="forward",tag="we\\"ird\\ntag"} 3.0\n' in text
    assert 'bitacora_collector_events_total{source="forward",tag="bad\\\\udcff"} 1.0\n' in text
    assert 'bitacora_collector_produce_latency_seconds_bucket{le="0.0025"} 0.0\n' in text
    assert 'bitacora_collector_produce_latency_seconds_bucket{le="0.005"} 1.0\n' in text
    assert 'bitacora_collector_produce_latency_seconds_bucket{le="+Inf"} 2.0\n' in text
    assert "bitacora_collector_produce_latency_seconds_count 2.0\n" in text
    assert "bitacora_collector_open_connections 2.0\n" in text
    assert "_created" not in text


def test_label_cardinality_is_capped() -> None:
    counter = Counter(CollectorRegistry(), "c_total", "h", ("tag",))
    for i in range(MAX_SERIES + 10):
        counter.inc(f"t{i}")
    assert counter.series() == MAX_SERIES + 1
    assert counter.get("other") == 10


async def test_byte_budget_blocks_until_released() -> None:
    budget = ByteBudget(100)
    assert await budget.acquire(60) == 60
    big = asyncio.ensure_future(budget.acquire(500))  # capped at the limit: waits for all
    await asyncio.sleep(0.01)
    assert not big.done()
    budget.release(60)
    assert await asyncio.wait_for(big, 1) == 100
    small = asyncio.ensure_future(budget.acquire(1))
    await asyncio.sleep(0.01)
    assert not small.done()
    budget.release(100)
    assert await asyncio.wait_for(small, 1) == 1
    assert budget.used == 1


async def test_byte_budget_cancelled_waiter_takes_nothing() -> None:
    budget = ByteBudget(10)
    await budget.acquire(10)
    waiter = asyncio.ensure_future(budget.acquire(5))
    await asyncio.sleep(0.01)
    waiter.cancel()
    await asyncio.sleep(0.01)
    budget.release(10)
    assert budget.used == 0
    assert await budget.acquire(10) == 10
