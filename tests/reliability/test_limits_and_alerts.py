"""Huge records and alert delivery faults (RELIABILITY.md scenarios 7 and 14)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.services import alerting_lag
from bitacora import schema
from bitacora.collector.forward.encode import event_time, message
from tests.integration.rules.receivers import http_receiver
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
    async with http_receiver() as destination:
        destination.replies += [(429, {"Retry-After": "2"}), (500, {})]
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
        # Every event, keyed record and alert consumed: nothing else can still page.
        await wait_until(
            lambda: _drained(pipeline.settings.kafka_bootstrap, pipeline.env),
            60,
            "the alerting role idle",
        )
        requests = destination.requests
        assert len(requests) == 3, [r.body.get("dedup_key") for r in requests]
        gap = requests[1].at - requests[0].at
        assert gap >= 2.0 - 0.05  # Retry-After honoured
        keys = {r.body["dedup_key"] for r in requests}
        assert len(keys) == 1
        summary = requests[-1].body["payload"]["summary"]
        # The message rendered literally: no 49, no loop (a test of "49" not in the summary
        # failed whenever the random run id in the service name held those digits).
        assert summary == f"Errors in {service}: {INJECTION}"
        async with aiohttp.ClientSession() as session:

            async def stored() -> list[str]:
                docs = await all_docs(
                    session,
                    pipeline.settings.opensearch_url,
                    schema.ALERTS_PATTERN,
                    {"term": {"rule": f"inject-{pipeline.rid}"}},
                )
                return [json.dumps(a) for a in docs]

            mine = await wait_until(stored, 30, "the alert stored in bitacora-alerts")
        assert all("7*7" in text for text in mine)  # stored alert keeps the text literal
        print(
            f"scenario 14: 3 attempts (429, 500, 200), Retry-After gap {gap:.2f} s, "
            "1 dedup_key, log text rendered literally"
        )


async def _drained(bootstrap: str, env: dict[str, str]) -> bool:
    return await alerting_lag(bootstrap, env) == 0
