"""BulkIndexer against the real OpenSearch: idempotent creates, per-item rejections."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from bitacora.deadletter import deadletter_record
from bitacora.processors.storage.indexer import BulkIndexer
from bitacora.settings import Settings
from tests.integration.storage.osapi import count, isolated_templates, ok


def event(i: int, **fields: Any) -> bytes:
    doc = {
        "@timestamp": f"2026-11-28T10:00:00.{i:09d}Z",
        "event.id": f"id-{i}",
        "service.name": "review-service",
        "message": f"line {i}",
        **fields,
    }
    return json.dumps(doc).encode()


def no_redaction(text: str) -> str:
    return text


async def test_same_id_twice_is_one_document_and_409_counts_done(opensearch_url: str) -> None:
    settings = Settings(opensearch_url=opensearch_url)
    async with isolated_templates(opensearch_url, settings) as iso:
        stream = iso.logs_stream("review-service")
        docs = [(stream, f"id-{i}", event(i)) for i in range(5)]
        async with BulkIndexer.from_settings(settings) as indexer:
            first = await indexer.index(docs)
            again = await indexer.index([*docs[:3], (stream, "id-5", event(5))])
        assert (first.indexed, first.duplicates, first.rejected, first.requests) == (5, 0, [], 1)
        assert (again.indexed, again.duplicates, again.rejected, again.requests) == (1, 3, [], 1)
        assert await count(opensearch_url, stream) == 6


async def test_type_conflict_rejects_only_that_document_and_dead_letters_it(
    opensearch_url: str,
) -> None:
    settings = Settings(opensearch_url=opensearch_url)
    async with isolated_templates(opensearch_url, settings) as iso:
        stream = iso.logs_stream("nginx")
        bad_status = event(1, **{"http.response.status_code": "abc"})
        bad_time = json.dumps({"@timestamp": "yesterday-ish", "message": "x"}).encode()
        docs = [
            (stream, "ok-0", event(0, **{"http.response.status_code": 200})),
            (stream, "bad-status", bad_status),
            (stream, "ok-2", event(2)),
            (stream, "bad-time", bad_time),
            (stream, "ok-4", event(4)),
        ]
        async with BulkIndexer.from_settings(settings) as indexer:
            result = await indexer.index(docs)
            assert (result.indexed, result.duplicates, result.requests) == (3, 0, 1)
            rejected = {r.doc.id: r for r in result.rejected}
            assert sorted(rejected) == ["bad-status", "bad-time"]
            assert rejected["bad-status"].doc.source == bad_status
            reason = rejected["bad-status"].reason
            assert reason.startswith(
                "mapper_parsing_exception: failed to parse field [http.response.status_code] "
                "of type [integer] in document with id 'bad-status'."
            ), reason
            assert rejected["bad-time"].reason.startswith("mapper_parsing_exception: "), reason

            records = [
                deadletter_record(
                    stage="index",
                    reason=r.reason,
                    original=r.doc.source,
                    topic="logs.normalized",
                    partition=0,
                    offset=n,
                    dataset="nginx.access",
                    now_ns=time.time_ns(),
                    event_id=r.doc.id,
                    redact=no_redaction,
                )
                for n, r in enumerate(result.rejected)
            ]
            stored = await indexer.index_deadletters(records, stream=iso.deadletter_stream)
            replay = await indexer.index_deadletters(records, stream=iso.deadletter_stream)
        assert (stored.indexed, stored.rejected) == (2, [])
        assert (replay.indexed, replay.duplicates) == (0, 2)
        assert await count(opensearch_url, stream) == 3

        assert await count(opensearch_url, iso.deadletter_stream) == 2
        hits = await ok(
            opensearch_url,
            "POST",
            f"/{iso.deadletter_stream}/_search",
            {"query": {"term": {"event.id": "bad-status"}}},
        )
        (hit,) = hits["hits"]["hits"]
        dead = hit["_source"]["deadletter"]
        assert dead["stage"] == "index"
        assert dead["error_type"] == "mapper_parsing_exception"
        assert dead["reason"] == reason
        assert dead["original"] == bad_status.decode()
        assert dead["original_encoding"] == "utf-8"
        assert hit["_source"]["event"] == {"dataset": "nginx.access", "id": "bad-status"}
        by_stage = await ok(
            opensearch_url,
            "POST",
            f"/{iso.deadletter_stream}/_search",
            {"query": {"term": {"deadletter.stage": "index"}}, "size": 0},
        )
        assert by_stage["hits"]["total"]["value"] == 2


async def test_binary_original_dead_letter_round_trips(opensearch_url: str) -> None:
    settings = Settings(opensearch_url=opensearch_url)
    async with isolated_templates(opensearch_url, settings) as iso:
        original = b"\x93\x01\xa3tag\xff\x00"
        record = deadletter_record(
            stage="normalize",
            reason="DecodeError: raw record has the wrong shape or version",
            original=original,
            topic="logs.raw",
            partition=2,
            offset=77,
            dataset=None,
            now_ns=time.time_ns(),
            redact=no_redaction,
        )
        async with BulkIndexer.from_settings(settings) as indexer:
            result = await indexer.index_deadletters([record], stream=iso.deadletter_stream)
        assert (result.indexed, result.rejected) == (1, [])
        assert await count(opensearch_url, iso.deadletter_stream) == 1
        hits = await ok(opensearch_url, "POST", f"/{iso.deadletter_stream}/_search", {})
        (hit,) = hits["hits"]["hits"]
        dead = hit["_source"]["deadletter"]
        assert base64.b64decode(dead["original"]) == original
        assert (dead["original_encoding"], dead["partition"], dead["offset"]) == ("base64", 2, 77)
        assert dead["error_type"] == "DecodeError"
