"""The syslog input on the real Kafka: UDP and TCP framing, oversized frames, metrics."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from typing import Any

import aiohttp

from bitacora.collector.app import Collector
from bitacora.settings import Settings
from tests.integration.collector.helpers import read_raw, read_topic


async def test_udp_datagrams_and_tcp_frames_become_raw_records(
    collector: Collector, kafka_bootstrap: str
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"<13>1 - host-a app-a - - - over udp\n", ("127.0.0.1", collector.syslog.port))
    reader, writer = await asyncio.open_connection("127.0.0.1", collector.syslog.port)
    line = b"<14>1 - host-b app-b - - - octet counted"
    writer.write(b"%d %s<15>lf framed\r\n<16>last without LF" % (len(line), line))
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    del reader
    raws = await read_raw(kafka_bootstrap, collector.settings.topic_raw, 4)
    assert sorted(r.record["syslog"] for r in raws) == [
        "<13>1 - host-a app-a - - - over udp",
        "<14>1 - host-b app-b - - - octet counted",
        "<15>lf framed",
        "<16>last without LF",
    ]
    assert {(r.tag, r.transport, r.time_ns) for r in raws} == {("syslog", "syslog", 0)}
    by_line = {r.record["syslog"]: r for r in raws}
    assert by_line["<13>1 - host-a app-a - - - over udp"].chunk is None
    tcp = [by_line[line] for line in sorted(by_line) if "udp" not in line]
    # TCP batches carry a chunk id (connection, batch) so a republished batch keeps its ids.
    assert all((r.chunk or "").startswith("syslog:127.0.0.1:") for r in tcp)
    assert len({(r.chunk, r.position) for r in tcp}) == 3
    records = await read_topic(kafka_bootstrap, collector.settings.topic_raw, 4)
    assert {r.key for r in records} == {b"127.0.0.1"}  # one sending host stays in order


async def test_an_oversized_frame_is_dead_lettered_and_the_connection_kept(
    make_settings: Callable[..., Settings],
    start_collector: Callable[[Settings], Any],
    kafka_bootstrap: str,
) -> None:
    collector = await start_collector(make_settings(max_syslog_message_bytes=1000))
    reader, writer = await asyncio.open_connection("127.0.0.1", collector.syslog.port)
    writer.write(b"<13>before\n")
    writer.write(b"5000 <13>" + b"x" * 4995)  # octet counted, over the limit: skipped
    writer.write(b"<13>" + b"y" * 2000 + b"\n")  # LF framed, over the limit: skipped
    writer.write(b"<13>after\n")
    await writer.drain()
    raws = await read_raw(kafka_bootstrap, collector.settings.topic_raw, 2)
    assert [r.record["syslog"] for r in raws] == ["<13>before", "<13>after"]
    assert not reader.at_eof()  # still open
    writer.close()
    await writer.wait_closed()
    letters = await read_topic(kafka_bootstrap, collector.settings.topic_deadletter, 2)
    reasons = [json.loads(r.value)["deadletter"]["reason"] for r in letters]
    assert reasons == ["frame_too_large", "frame_too_large"]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{collector.http_port}/metrics") as response,
    ):
        text = await response.text()
    line = 'bitacora_collector_rejections_total{reason="frame_too_large",source="syslog"} 2.0\n'
    assert line in text
