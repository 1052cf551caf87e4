"""Long scenarios (RELIABILITY.md 3, 4, 15), run by ``make soak`` (``-m slow``).

Scenarios that stop Kafka or OpenSearch stop a private instance started with
``bitacora.stack`` on other ports (``private_stack``), never the shared stack, and stop it
again in a ``finally`` block, so they cannot disturb tests running beside them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable
from pathlib import Path

import aiohttp
import pytest

from bench.forward_client import SendStats, build_chunks, send_with_acks
from bench.services import alerting_lag, group_lag
from bitacora import schema
from bitacora.settings import Settings
from tests.reliability.harness import (
    Pipeline,
    indexed_seqs,
    loss_and_duplicates,
    private_stack,
    raw_seqs,
    read_raw_events,
    wait_until,
)

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.timeout(900)]


async def _steady_sender(
    p: Pipeline, source: str, stop: asyncio.Event, stats: SendStats, per_group: int = 500
) -> int:
    """Send groups of chunks (acks, resends) until ``stop``; returns how many seqs were sent."""
    seq = 0
    service = f"{p.prefix}-steady"
    while not stop.is_set():
        chunks = build_chunks(source, per_group, 100, [service], start_seq=seq)
        await send_with_acks(
            "127.0.0.1", p.forward_port, chunks, window=4, deadline_s=600, stats=stats
        )
        seq += per_group
        await asyncio.sleep(0.2)
    return seq


async def _http_sender(
    p: Pipeline, source: str, stop: asyncio.Event, statuses: list[tuple[float, int]]
) -> set[int]:
    """POST batches of 10 every 0.5 s, retrying each batch until 200; returns acked seqs."""
    url = f"http://127.0.0.1:{p.http_port}/{p.prefix}-http.app"
    acked: set[int] = set()
    seq = 0
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while not stop.is_set():
            batch = list(range(seq, seq + 10))
            body = b"\n".join(json.dumps({"source": source, "seq": s}).encode() for s in batch)
            while True:
                sent_at = time.monotonic()
                try:
                    async with session.post(
                        url, data=body, headers={"Content-Type": "application/x-ndjson"}
                    ) as r:
                        statuses.append((sent_at, r.status))
                        if r.status == 200:
                            acked.update(batch)
                            break
                except (aiohttp.ClientError, TimeoutError):
                    statuses.append((sent_at, 0))  # no answer within the client's timeout
                await asyncio.sleep(0.5)
            seq += 10
            await asyncio.sleep(0.5)
    return acked


async def test_03_kafka_stopped_for_60_s_under_load(rel_settings: Settings, tmp_path: Path) -> None:
    """The collector withholds acks (HTTP 503), nothing acked is lost, flow resumes."""
    from bitacora.stack.services import start_service, stop_service

    with private_stack(rel_settings, ("kafka",), tmp_path / "stack") as settings:
        p = Pipeline(settings)
        await p.create_topics()
        collector = p.start_collector()
        stop = asyncio.Event()
        fwd_stats = SendStats()
        statuses: list[tuple[float, int]] = []
        fwd = asyncio.create_task(_steady_sender(p, f"fwd3-{p.rid}", stop, fwd_stats))
        http = asyncio.create_task(_http_sender(p, f"http3-{p.rid}", stop, statuses))
        try:
            await asyncio.sleep(15)
            acked_before = len(fwd_stats.acked)
            stop_service(settings, "kafka")
            down_at = time.monotonic()
            await asyncio.sleep(60)
            acked_during = len(fwd_stats.acked) - acked_before
        finally:
            restart_at = time.monotonic()
            start_service(settings, "kafka")
        await asyncio.sleep(20)
        stop.set()
        sent = await asyncio.wait_for(fwd, 300)
        http_acked = await asyncio.wait_for(http, 300)
        assert collector.alive(), collector.log_tail()
        raw = await read_raw_events(settings.kafka_bootstrap, p.env["BITACORA_TOPIC_RAW"])
        fwd_seen = raw_seqs(raw, f"fwd3-{p.rid}")
        http_seen = raw_seqs(raw, f"http3-{p.rid}")
        fwd_acked = {
            s
            for c in fwd_stats.acked
            for s in range(int(c.split("-")[-1]), int(c.split("-")[-1]) + 100)
        }
        lost_fwd, dup_fwd = loss_and_duplicates(sorted(fwd_acked), fwd_seen)
        lost_http, dup_http = loss_and_duplicates(sorted(http_acked), http_seen)
        # Sent while Kafka was down, and answered before it came back: a request sent less
        # than the publish timeout before the restart may rightly be held until Kafka takes
        # it, then answered 200.
        latest = restart_at - settings.http_publish_timeout_s
        during = [s for t, s in statuses if down_at + 5 < t < latest]
        print(
            f"scenario 3: sent {sent} fwd, {len(fwd_acked)} acked "
            f"({acked_during} chunks acked while down), "
            f"lost {len(lost_fwd)}+{len(lost_http)}, dup in Kafka {len(dup_fwd)}+{len(dup_http)}, "
            f"HTTP statuses while down {sorted(set(during))}, "
            f"peak RSS {collector.peak_rss_mib():.0f} MiB"
        )
        assert lost_fwd == []
        assert lost_http == []
        assert during  # requests were sent while Kafka was down
        assert set(during) == {503}  # answered 503 at once: not hanging (0), never 200
        assert acked_during <= 40  # only chunks Kafka held before it went down (<= 2 s of traffic)
        assert len(fwd_acked) > 0
        assert max(fwd_seen) >= sent - 1  # flow resumed after Kafka came back
        assert collector.peak_rss_mib() < 400
        await p.cleanup()


async def test_04_opensearch_stopped_for_2_minutes_under_load(
    rel_settings: Settings, tmp_path: Path
) -> None:
    """No offsets committed for unindexed records, memory bounded, backlog drains, exact."""
    from bitacora.stack.services import start_service, stop_service

    with private_stack(rel_settings, ("opensearch",), tmp_path / "stack") as settings:
        p = Pipeline(settings)
        await p.create_topics()
        env = p.env
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bitacora", "setup"],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
            timeout=120,
        )
        p.start_collector()
        processor = p.start_processor()
        stop = asyncio.Event()
        stats = SendStats()
        source = f"os4-{p.rid}"
        sender = asyncio.create_task(_steady_sender(p, source, stop, stats))
        group = schema.consumer_group(env["BITACORA_APP_ID"], "index")
        normalized = env["BITACORA_TOPIC_NORMALIZED"]
        try:
            await asyncio.sleep(20)
            stop_service(settings, "opensearch")
            await asyncio.sleep(15)  # in-flight bulks fail and back off; commits stop
            lag_a = await group_lag(settings.kafka_bootstrap, group, normalized)
            await asyncio.sleep(105)
            lag_b = await group_lag(settings.kafka_bootstrap, group, normalized)
            rss_down = processor.peak_rss_mib()
            assert processor.alive(), processor.log_tail()
        finally:
            start_service(settings, "opensearch")
        stop.set()
        sent = await asyncio.wait_for(sender, 300)
        async with aiohttp.ClientSession() as session:

            async def drained() -> bool:
                p.assert_alive()
                return (
                    len(await indexed_seqs(session, settings.opensearch_url, p.pattern, source))
                    >= sent
                )

            await wait_until(drained, 300, "the backlog to drain", every_s=2.0)
            seen = await indexed_seqs(session, settings.opensearch_url, p.pattern, source)
        lost, duplicated = loss_and_duplicates(range(sent), seen)
        print(
            f"scenario 4: {sent} sent and acked, lag grew {lag_a} -> {lag_b} while down, "
            f"lost {len(lost)}, duplicated {len(duplicated)}, processor peak RSS {rss_down:.0f} MiB"
        )
        assert (lost, duplicated) == ([], {})
        assert lag_b > lag_a  # nothing committed while OpenSearch was down: the lag only grew
        assert rss_down < 600
        await wait_until(
            lambda: _zero(group_lag(settings.kafka_bootstrap, group, normalized)), 60, "lag 0"
        )
        await p.cleanup()


async def _zero(lag: Awaitable[int]) -> bool:
    return (await lag) == 0


FREQUENCY_RULE = """\
name: restart-{rid}
type: frequency
query_key: service.name
num_events: 10
timeframe:
  minutes: 5
filter:
  - term:
      log.level: error
  - term:
      service.name: "{service}"
realert:
  minutes: 10
alert: post
http_post_url: "{url}/hook"
"""


async def test_15_rule_engine_restarted_mid_window(rel_settings: Settings, tmp_path: Path) -> None:
    """Windows and realert state survive restarts: exactly one alert, none missed or repeated."""
    from bench.alert_bench import Webhook
    from bitacora.collector.forward.encode import event_time, message

    hook = Webhook()
    await hook.start()
    p = Pipeline(rel_settings)
    service = f"{p.prefix}-window"
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "restart.yaml").write_text(
        FREQUENCY_RULE.format(rid=p.rid, service=service, url=hook.url)
    )
    p.extra_env["BITACORA_RULES_DIR"] = str(rules)
    await p.create_topics()
    try:
        p.start_collector()
        p.start_processor("normalize", roles=("normalize",))
        alerting = p.start_processor("alerting-1", roles=("alerting",))

        async def send_errors(first: int, count: int) -> None:
            _r, writer = await asyncio.open_connection("127.0.0.1", p.forward_port)
            for i in range(first, first + count):
                ns = time.time_ns()
                record = {"level": "ERROR", "message": f"failure {i}", "service": service}
                writer.write(message(f"{service}.app", event_time(ns // 10**9, ns % 10**9), record))
            await writer.drain()
            writer.close()

        async def consumed() -> bool:
            p.assert_alive()
            return await alerting_lag(p.settings.kafka_bootstrap, p.env, alerts=False) == 0

        await send_errors(0, 6)
        await wait_until(consumed, 120, "6 errors consumed by the rule engine", every_s=0.5)
        await asyncio.sleep(1.5)  # past the commit interval: state and offsets are durable
        alerting.kill()  # kill -9 mid-window
        alerting = p.start_processor("alerting-2", roles=("alerting",))
        await send_errors(6, 4)  # 6 + 4 = 10: the restored window fires now
        await wait_until(
            lambda: _true(len(hook.arrivals) >= 1), 120, "the alert after restart", every_s=0.2
        )
        await wait_until(consumed, 60, "the 4 errors consumed", every_s=0.5)
        await asyncio.sleep(1.5)
        alerting.stop()  # graceful restart this time
        p.start_processor("alerting-3", roles=("alerting",))
        await send_errors(10, 12)  # another burst within realert: must not page again
        await wait_until(consumed, 120, "the second burst consumed", every_s=0.5)
        await asyncio.sleep(3)
        print(
            f"scenario 15: {len(hook.arrivals)} alert(s) for 22 errors "
            "across a kill -9 and a restart"
        )
        assert len(hook.arrivals) == 1
    finally:
        await hook.stop()
        await p.cleanup()


async def _true(value: bool) -> bool:
    return value
