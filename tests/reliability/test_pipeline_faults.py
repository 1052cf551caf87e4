"""Faults across the whole pipeline (RELIABILITY.md scenarios 1, 2, 6, 12, 13).

Collector and processor run as subprocesses so ``kill -9`` is real; senders number their
records (``source``, ``seq``) and resend unacknowledged chunks, and the checks read every
document back from OpenSearch to count loss and duplication exactly.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest

from bench.forward_client import SendStats, build_chunks, send_with_acks
from bitacora import schema
from bitacora.collector.forward.encode import event_time, forward
from tests.reliability.clients import send_raw
from tests.reliability.harness import (
    Pipeline,
    all_docs,
    deadletter_texts,
    group_lag,
    indexed_seqs,
    loss_and_duplicates,
    wait_until,
)

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]


async def _wait_indexed(
    p: Pipeline, session: aiohttp.ClientSession, source: str, n: int, deadline_s: float
) -> None:
    async def done() -> bool:
        p.assert_alive()
        return len(await indexed_seqs(session, p.settings.opensearch_url, p.pattern, source)) >= n

    await wait_until(done, deadline_s, f"{n} records of {source} in {p.pattern}", every_s=1.0)


async def test_01_kill_9_collector_mid_chunk_while_clients_resend(pipeline: Pipeline) -> None:
    """Every acked record in OpenSearch exactly once; the collector serves again within 10 s."""
    collector = pipeline.start_collector()
    pipeline.start_processor()
    source, events = f"kill1-{pipeline.rid}", 20_000
    chunks = build_chunks(source, events, 100, [f"{pipeline.prefix}-a", f"{pipeline.prefix}-b"])
    stats = SendStats()
    sender = asyncio.create_task(
        send_with_acks(
            "127.0.0.1", pipeline.forward_port, chunks, window=8, deadline_s=180, stats=stats
        )
    )
    await wait_until(
        lambda: _true(len(stats.acked) >= len(chunks) // 4), 60, "a quarter acked", every_s=0.01
    )
    collector.kill()
    killed_at = time.monotonic()
    acked_at_kill = len(stats.acked)
    pipeline.start_collector("collector-2")
    await wait_until(
        lambda: _true(len(stats.acked) > acked_at_kill),
        10,
        "an ack from the new collector",
        every_s=0.05,
    )
    back_in = time.monotonic() - killed_at
    await sender
    assert len(stats.acked) == len(chunks), stats.errors[:3]
    assert stats.reconnects >= 1
    async with aiohttp.ClientSession() as session:
        await _wait_indexed(pipeline, session, source, events, 120)
        seen = await indexed_seqs(
            session, pipeline.settings.opensearch_url, pipeline.pattern, source
        )
    lost, duplicated = loss_and_duplicates(range(events), seen)
    assert (lost, duplicated) == ([], {})
    assert back_in < 10
    print(
        f"scenario 1: {events} acked, 0 lost, 0 duplicated, "
        f"resends={stats.resends}, back in {back_in:.2f} s"
    )


async def _true(value: bool) -> bool:
    return value


async def test_02_kill_9_processor_between_bulk_and_commit(pipeline: Pipeline) -> None:
    """Redelivered, zero duplicates, lag back to 0."""
    pipeline.extra_env["BITACORA_BULK_MAX_DOCS"] = "500"
    pipeline.start_collector()
    processor = pipeline.start_processor()
    source, events = f"kill2-{pipeline.rid}", 30_000
    chunks = build_chunks(source, events, 250, [f"{pipeline.prefix}-c"])
    stats = await send_with_acks(
        "127.0.0.1", pipeline.forward_port, chunks, window=8, deadline_s=120
    )
    assert len(stats.acked) == len(chunks)
    url = pipeline.settings.opensearch_url
    async with aiohttp.ClientSession() as session:

        async def some_indexed() -> bool:
            status, payload = await _count(session, url, pipeline.pattern)
            return status == 200 and 0 < payload < events

        # Bulks are landing; offsets are committed once a second, so some are uncommitted now.
        await wait_until(some_indexed, 120, "indexing under way", every_s=0.05)
        processor.kill()
        pipeline.start_processor("processor-2")
        await _wait_indexed(pipeline, session, source, events, 180)
        seen = await indexed_seqs(session, url, pipeline.pattern, source)
        lost, duplicated = loss_and_duplicates(range(events), seen)
        assert (lost, duplicated) == ([], {})
        assert sum(seen.values()) == events
        print(f"scenario 2: {events} acked, kill -9 mid-indexing, 0 lost, 0 duplicated")

    bootstrap = pipeline.settings.kafka_bootstrap
    app_id = pipeline.env["BITACORA_APP_ID"]

    async def lag_zero() -> bool:
        raw = await group_lag(
            bootstrap,
            schema.consumer_group(app_id, "normalize"),
            pipeline.env["BITACORA_TOPIC_RAW"],
        )
        norm = await group_lag(
            bootstrap,
            schema.consumer_group(app_id, "index"),
            pipeline.env["BITACORA_TOPIC_NORMALIZED"],
        )
        return raw == 0 and norm == 0

    await wait_until(lag_zero, 30, "consumer lag back to 0", every_s=0.5)


async def _count(session: aiohttp.ClientSession, url: str, pattern: str) -> tuple[int, int]:
    async with session.post(
        f"{url}/{pattern}/_count?ignore_unavailable=true&allow_no_indices=true"
    ) as r:
        payload = await r.json()
        return r.status, int(payload.get("count", 0)) if r.status == 200 else 0


async def test_06_field_type_conflict_inside_a_batch(pipeline: Pipeline) -> None:
    """The rest of the batch is indexed; the bad record is dead-lettered with reason and
    original, or stored with the conflicting value moved aside: never lost, never blocking."""
    pipeline.start_collector()
    pipeline.start_processor()
    source = f"conflict6-{pipeline.rid}"
    tag = f"{pipeline.prefix}-conflict.app"
    good = [
        {"source": source, "seq": i, "message": f"fine {i}", "http.status": 200} for i in range(20)
    ]
    bad = [
        {
            "source": source,
            "seq": 100,
            "message": "bad status",
            "http": {"response": {"status_code": "not-a-number"}},
        },
        {
            "source": source,
            "seq": 101,
            "message": "bad duration",
            "event": {"duration": {"nested": "object"}},
        },
        {"source": source, "seq": 102, "message": "bad ts", "@timestamp": "yesterday-ish"},
        {"source": source, "seq": 103, "message": {"an": {"object": ["as", "message"]}}},
    ]
    records = good[:10] + bad + good[10:]
    frame = forward(
        tag,
        [(event_time(1_700_000_000, i), r) for i, r in enumerate(records)],
        {"chunk": "conflict"},
    )
    outcome = await send_raw(pipeline.forward_port, frame, half_close=False, wait_s=10)
    assert {"ack": "conflict"} in outcome.replies
    url = pipeline.settings.opensearch_url
    async with aiohttp.ClientSession() as session:
        await _wait_indexed(pipeline, session, source, 20, 120)

        async def accounted() -> dict[int, str] | None:
            seen = await indexed_seqs(session, url, pipeline.pattern, source)
            letters = await _deadletters_mentioning(session, url, source)
            where = dict.fromkeys(seen, "indexed")
            for seq in (100, 101, 102, 103):
                if any(
                    f'"seq": {seq}' in t or f'"seq":{seq}' in t or f'seq\\": {seq}' in t
                    for t in letters
                ):
                    where.setdefault(seq, "deadletter")
            return where if all(s in where for s in (*range(20), 100, 101, 102, 103)) else None

        where = await wait_until(
            accounted, 60, "every record indexed or dead-lettered", every_s=1.0
        )
        seen = await indexed_seqs(session, url, pipeline.pattern, source)
    assert all(seen[i] == 1 for i in range(20))
    assert all(n == 1 for n in seen.values())
    print(
        "scenario 6: 20 good indexed once; bad records:",
        {s: where[s] for s in (100, 101, 102, 103)},
    )


async def _deadletters_mentioning(session: aiohttp.ClientSession, url: str, text: str) -> list[str]:
    """Every indexed dead letter mentioning ``text``, as text with its original decoded."""
    docs = await all_docs(session, url, schema.DEADLETTER_PATTERN)
    return [t for t in map(deadletter_texts, docs) if text in t]


async def test_12_invalid_utf8_and_nul_bytes_are_repaired(pipeline: Pipeline) -> None:
    """Replaced with a marker; the rest of the batch unaffected."""
    pipeline.start_collector()
    pipeline.start_processor()
    tag = f"{pipeline.prefix}-utf8.app"
    source = f"utf8p-{pipeline.rid}"
    records: list[dict[Any, Any]] = [
        {"source": source, "seq": 0, "message": b"bad \xff\xfe bytes"},
        {"source": source, "seq": 1, "message": "nul \x00 inside"},
        {"source": source, "seq": 2, b"key\xff": "bad key", "message": "key"},
        {"source": source, "seq": 3, "message": "fine"},
    ]
    frame = forward(
        tag, [(event_time(1_700_000_000, i), r) for i, r in enumerate(records)], {"chunk": "utf8"}
    )
    outcome = await send_raw(pipeline.forward_port, frame, half_close=False, wait_s=10)
    assert {"ack": "utf8"} in outcome.replies
    async with aiohttp.ClientSession() as session:
        await _wait_indexed(pipeline, session, source, 4, 120)
        docs = {
            int(d["labels"]["seq"]): d
            for d in await all_docs(session, pipeline.settings.opensearch_url, pipeline.pattern)
        }
    assert docs[3]["message"] == "fine"
    assert "\ufffd" in docs[0]["message"]
    assert docs[0]["message"].startswith("bad ")
    assert "\x00" not in json.dumps(docs[1]["message"], ensure_ascii=False)
    assert docs[1]["message"].startswith("nul ")
    assert any("\ufffd" in k for k in docs[2]["labels"])
    print("scenario 12: invalid UTF-8 replaced by U+FFFD, no NUL stored, same-chunk records intact")


SECRETS = {
    "password": "hunter2-Sup3rS3cret",
    "bearer": "abcDEF123456ghiJKL789mnoPQR",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "card": "4111 1111 1111 1111",
    "card2": "5500-0000-0000-0004",
}


async def test_13_planted_secrets_are_not_findable(pipeline: Pipeline) -> None:
    """No planted secret is findable in OpenSearch logs, dead letters or alerts."""
    pipeline.start_collector()
    pipeline.start_processor()
    tag = f"{pipeline.prefix}-secrets.app"
    source = f"secret13-{pipeline.rid}"
    s = SECRETS
    records = [
        {"source": source, "seq": 0, "message": f"login ok user=ana password={s['password']}"},
        {"source": source, "seq": 1, "message": f"GET /api Authorization: Bearer {s['bearer']}"},
        {"source": source, "seq": 2, "message": f"using key {s['aws']} for s3"},
        {"source": source, "seq": 3, "message": f"aws_secret_access_key={s['aws_secret']}"},
        {"source": source, "seq": 4, "message": f"token {s['jwt']} expired"},
        {"source": source, "seq": 5, "message": f"charged card {s['card']} ok"},
        {"source": source, "seq": 6, "message": "payment", "card": s["card2"]},
        {"source": source, "seq": 7, "message": "config", "db": {"password": s["password"]}},
        {"source": source, "seq": 8, "message": f'{{"password": "{s["password"]}"}}'},
    ]
    entries: list[tuple[Any, Any]] = [
        (event_time(1_700_000_000, i), r) for i, r in enumerate(records)
    ]
    # A record that is not a map goes to the dead letter with its original: it holds secrets too.
    entries.append(
        (event_time(1_700_000_000, 99), f"not a map password={s['password']} {s['jwt']}")
    )
    frame = forward(tag, entries, {"chunk": "secrets"})
    outcome = await send_raw(pipeline.forward_port, frame, half_close=False, wait_s=10)
    assert {"ack": "secrets"} in outcome.replies
    url = pipeline.settings.opensearch_url
    async with aiohttp.ClientSession() as session:
        await _wait_indexed(pipeline, session, source, len(records), 120)
        await asyncio.sleep(0)  # dead letters index in their own agent; poll for them below

        async def letters() -> list[str]:
            return await _deadletters_mentioning(session, url, pipeline.prefix)

        await wait_until(letters, 60, "the dead letter of the non-map record", every_s=1.0)
        logs = [
            json.dumps(d, ensure_ascii=False)
            for d in await all_docs(session, url, pipeline.pattern)
        ]
        dead = await _deadletters_mentioning(session, url, pipeline.prefix)
        # Full-text search too, what an operator would type: alerts are searched only this
        # way (every alert of the stack, whichever run raised it).
        hits = {}
        for name, secret in s.items():
            body = {
                "query": {
                    "multi_match": {
                        "query": secret,
                        "type": "phrase",
                        "fields": ["*"],
                        "lenient": True,
                    }
                }
            }
            async with session.post(
                f"{url}/{pipeline.pattern},{schema.DEADLETTER_PATTERN},{schema.ALERTS_PATTERN}"
                "/_count?ignore_unavailable=true",
                json=body,
            ) as r:
                hits[name] = (await r.json()).get("count", -1)
    found = {
        name: [
            where
            for where, texts in (("logs", logs), ("deadletter", dead))
            if any(secret in t or secret.replace(" ", "") in t for t in texts)
        ]
        for name, secret in s.items()
    }
    assert {k: v for k, v in found.items() if v} == {}
    assert {k: v for k, v in hits.items() if v != 0} == {}
    assert len(logs) == len(records)
    assert any("[REDACTED" in t for t in logs)
    print(
        f"scenario 13: {len(s)} planted secrets in {len(records)} records and a dead letter: "
        "none findable in logs, dead letters or alerts (phrase search and decoded originals)"
    )
