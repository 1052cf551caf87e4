"""Huge records and alert delivery faults (RELIABILITY.md scenarios 7 and 14)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bench.procs import free_port
from bitacora import schema
from collector.forward.encode import event_time, message
from tests.reliability.clients import send_raw
from tests.reliability.harness import (
    Pipeline,
    all_docs,
    deadletter_reason,
    deadletter_texts,
    indexed_seqs,
    mentions_seq,
    read_topic,
    wait_until,
)

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": "bottom"}
    for level in range(depth):
        node = {f"level{level}": node}
    return node


async def test_07_record_with_5000_keys_50_levels_and_a_10_mb_field(pipeline: Pipeline) -> None:
    """Flattened/truncated with a marker or dead-lettered; acked; the index stays healthy."""
    pipeline.extra_env.update(BITACORA_MAX_FRAME_BYTES=str(16 * 1024 * 1024))
    pipeline.start_collector()
    pipeline.start_processor()
    source = f"huge7-{pipeline.rid}"
    tag = f"{pipeline.prefix}-huge.app"
    records = {
        0: {
            "source": source,
            "seq": 0,
            "message": "many keys",
            **{f"k{i}": i for i in range(5000)},
        },
        1: {"source": source, "seq": 1, "message": "deep", "tree": _nested(50)},
        2: {"source": source, "seq": 2, "message": "x" * (10 * 1024 * 1024)},
        3: {"source": source, "seq": 3, "message": "a normal line after the monsters"},
    }
    for seq, record in records.items():
        frame = message(tag, event_time(1_700_000_000, seq), record, {"chunk": f"huge{seq}"})
        outcome = await send_raw(pipeline.forward_port, frame, half_close=False, wait_s=30)
        assert {"ack": f"huge{seq}"} in outcome.replies, (seq, outcome)
    url = pipeline.settings.opensearch_url
    async with aiohttp.ClientSession() as session:
        progress: dict[int, str] = {}

        async def accounted() -> dict[int, str] | None:
            pipeline.assert_alive()
            seen = await indexed_seqs(session, url, pipeline.pattern, source)
            where = dict.fromkeys(seen, "indexed")
            letters = await read_topic(
                pipeline.settings.kafka_bootstrap, pipeline.env["BITACORA_TOPIC_DEADLETTER"]
            )
            for _key, value in letters:
                text = deadletter_texts(value)
                for seq in records:
                    if mentions_seq(text, seq):
                        where.setdefault(seq, f"deadletter:{deadletter_reason(value)}")
            progress.clear()
            progress.update(where)
            return where if set(records) <= set(where) else None

        try:
            where = await wait_until(accounted, 120, "every record accounted for", every_s=1.0)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; so far: {progress}") from None
        seen = await indexed_seqs(session, url, pipeline.pattern, source)
        assert all(n == 1 for n in seen.values())
        assert where[3] == "indexed"
        docs = {int(d["labels"]["seq"]): d for d in await all_docs(session, url, pipeline.pattern)}
        async with session.get(f"{url}/_cluster/health/{pipeline.pattern}") as r:
            health = (await r.json())["status"]
        async with session.get(f"{url}/{pipeline.pattern}/_mapping") as r:
            mapping = json.dumps(await r.json())
    assert health in ("green", "yellow")
    assert mapping.count('"type"') < 1000  # no mapping explosion from 5,000 keys
    sizes = {seq: len(json.dumps(doc)) for seq, doc in docs.items()}
    assert all(size < 2 * 1024 * 1024 for size in sizes.values()), sizes
    if where[2] == "indexed":  # else dead-lettered (Kafka's message size limit)
        assert len(docs[2]["message"].encode()) < 1024 * 1024
    print(f"scenario 7: outcomes {where}, stored sizes {sizes} bytes, index {health}")


class Destination:
    """A PagerDuty-like receiver: 429 with Retry-After first, then 500, then 202."""

    def __init__(self, retry_after_s: int) -> None:
        self.requests: list[tuple[float, dict[str, Any]]] = []
        self.answers = [(429, {"Retry-After": str(retry_after_s)}), (500, {})]
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((time.monotonic(), json.loads(await request.read())))
        status, headers = self.answers.pop(0) if self.answers else (202, {})
        return web.json_response({"status": "ok"}, status=status, headers=headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


RULE = """\
name: inject-{rid}
type: any
query_key: service.name
filter:
  - term:
      service.name: "{service}"
realert:
  minutes: 10
alert: pagerduty
pagerduty_service_key: test-routing-key
pagerduty_events_url: "{url}/v2/enqueue"
alert_subject: "Errors in {{0}}: {{1}}"
alert_subject_args: [service.name, message]
"""
INJECTION = (
    "{{ 7*7 }} {% for x in range(3) %}loop{% endfor %} <script>alert(1)</script> ${jndi:ldap://x}"
)


async def test_14_template_injection_and_a_failing_destination(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """Rendered literally; retries honour Retry-After; one page only (one dedup_key)."""
    destination = Destination(retry_after_s=2)
    await destination.start()
    try:
        service = f"{pipeline.prefix}-inject"
        rules = tmp_path / "rules"
        rules.mkdir()
        (rules / "inject.yaml").write_text(
            RULE.format(rid=pipeline.rid, service=service, url=destination.url)
        )
        pipeline.extra_env["BITACORA_RULES_DIR"] = str(rules)
        pipeline.start_collector()
        pipeline.start_processor(roles=("normalize", "alerting"))
        for i in range(3):  # three matching events inside the realert period: one page
            frame = message(
                f"{service}.app",
                event_time(int(time.time()), i),
                {"level": "ERROR", "message": INJECTION, "service": service},
                {"chunk": f"inj{i}"},
            )
            outcome = await send_raw(pipeline.forward_port, frame, half_close=False, wait_s=10)
            assert {"ack": f"inj{i}"} in outcome.replies

        async def delivered() -> bool:
            pipeline.assert_alive()
            return len(destination.requests) >= 3

        await wait_until(delivered, 120, "429, 500, then a delivered page", every_s=0.2)
        await asyncio.sleep(10)  # nothing else may arrive: no duplicate page
        requests = destination.requests
        assert len(requests) == 3, [r[1].get("dedup_key") for r in requests]
        gap = requests[1][0] - requests[0][0]
        assert gap >= 2.0 - 0.05  # Retry-After honoured
        keys = {r[1]["dedup_key"] for r in requests}
        assert len(keys) == 1
        summary = requests[-1][1]["payload"]["summary"]
        assert "{{ 7*7 }}" in summary
        assert "49" not in summary
        assert "{% for x in range(3) %}" in summary
        assert "looploop" not in summary
        async with aiohttp.ClientSession() as session:
            stored = await all_docs(
                session, pipeline.settings.opensearch_url, schema.ALERTS_PATTERN
            )
        mine = [json.dumps(a) for a in stored if service in json.dumps(a)]
        assert mine
        assert all("7*7" in text for text in mine)  # stored alert keeps the text literal
        print(
            f"scenario 14: 3 attempts (429, 500, 202), Retry-After gap {gap:.2f} s, "
            "1 dedup_key, log text rendered literally"
        )
    finally:
        await destination.stop()
