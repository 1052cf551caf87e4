"""The bulk core: exact body bytes, response classification, batching, backoff bounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bitacora.processors.storage.bulk import (
    BackoffPolicy,
    BulkOutcome,
    Doc,
    Rejection,
    build_bulk_body,
    classify_bulk_response,
    item_verdict,
    request_verdict,
    split_by_size,
)

DATA = Path(__file__).parents[2] / "data" / "storage"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def test_bulk_body_exact_bytes() -> None:
    body = build_bulk_body(
        [
            ("logs-review-service", "abc", b'{"message":"one"}'),
            ("logs-review-service", "def", b'{"message":"two"}'),
            ("logs-nginx", 'q"x', b"{}"),
        ]
    )
    assert body == (
        b'{"create":{"_index":"logs-review-service","_id":"abc"}}\n'
        b'{"message":"one"}\n'
        b'{"create":{"_index":"logs-review-service","_id":"def"}}\n'
        b'{"message":"two"}\n'
        b'{"create":{"_index":"logs-nginx","_id":"q\\"x"}}\n'
        b"{}\n"
    )


def test_bulk_body_empty() -> None:
    assert build_bulk_body([]) == b""


def test_every_action_line_is_valid_json() -> None:
    body = build_bulk_body([Doc("logs-a", "id-é", b'{"a":1}')])
    action, source, end = body.split(b"\n")
    assert json.loads(action) == {"create": {"_index": "logs-a", "_id": "id-é"}}
    assert json.loads(source) == {"a": 1}
    assert end == b""


def test_all_created_fast_path() -> None:
    response = load("bulk_all_created.json")
    assert classify_bulk_response(response, 3) == BulkOutcome(done=[0, 1, 2])


def test_duplicate_409_counts_done() -> None:
    response = load("bulk_duplicate_409.json")
    outcome = classify_bulk_response(response, 2)
    assert outcome.done == [0, 1]
    assert outcome.duplicates == 1
    assert outcome.retry == []
    assert outcome.rejected == []


def test_mapping_conflict_is_rejected_with_reason() -> None:
    response = load("bulk_mapping_conflict.json")
    outcome = classify_bulk_response(response, 3)
    assert outcome.done == [0, 2]
    assert outcome.retry == []
    assert len(outcome.rejected) == 1
    rejection = outcome.rejected[0]
    assert rejection.position == 1
    assert rejection.status == 400
    assert rejection.error_type == "mapper_parsing_exception"
    assert rejection.reason.startswith("mapper_parsing_exception: failed to parse field ")
    assert "http.response.status_code" in rejection.reason
    assert "(caused by number_format_exception: " in rejection.reason


def test_rejected_execution_429_is_retried() -> None:
    response = load("bulk_rejected_429.json")
    outcome = classify_bulk_response(response, 3)
    assert outcome.done == [0, 2]
    assert outcome.retry == [1]
    assert outcome.rejected == []


def test_mixed_response() -> None:
    response = {
        "errors": True,
        "items": [
            {"create": {"status": 201}},
            {"create": {"status": 503, "error": {"type": "unavailable_shards_exception"}}},
            {"create": {"status": 409, "error": {"type": "version_conflict_engine_exception"}}},
            {
                "create": {
                    "status": 400,
                    "error": {"type": "illegal_argument_exception", "reason": "x"},
                }
            },
            {"create": {"status": 429, "error": {"type": "cluster_block_exception"}}},
        ],
    }
    assert classify_bulk_response(response, 5) == BulkOutcome(
        done=[0, 2],
        duplicates=1,
        retry=[1, 4],
        rejected=[Rejection(3, 400, "illegal_argument_exception", "illegal_argument_exception: x")],
    )


def test_missing_items_are_retried_not_lost() -> None:
    response = {"errors": False, "items": [{"create": {"status": 201}}]}
    assert classify_bulk_response(response, 3) == BulkOutcome(done=[0], retry=[1, 2])


@pytest.mark.parametrize(
    ("status", "error_type", "verdict"),
    [
        (200, None, "done"),
        (201, None, "done"),
        (409, "version_conflict_engine_exception", "done"),
        (429, "es_rejected_execution_exception", "retry"),
        (429, "opensearch_rejected_execution_exception", "retry"),
        (500, "exception", "retry"),
        (502, None, "retry"),
        (503, "unavailable_shards_exception", "retry"),
        (403, "cluster_block_exception", "retry"),
        (400, "mapper_parsing_exception", "reject"),
        (400, "document_parsing_exception", "reject"),
        (400, "illegal_argument_exception", "reject"),
        (400, "strict_dynamic_mapping_exception", "reject"),
        (404, "index_not_found_exception", "reject"),
    ],
)
def test_item_verdicts(status: int, error_type: str | None, verdict: str) -> None:
    error = {"type": error_type, "reason": "r"} if error_type else None
    assert item_verdict(status, error) == verdict


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (400, "split"),
        (413, "split"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (401, "retry"),
    ],
)
def test_request_verdicts(status: int, verdict: str) -> None:
    assert request_verdict(status) == verdict


def test_split_by_size_bounds_docs_and_bytes() -> None:
    docs = [Doc("logs-a", f"{i:04d}", b"x" * 100) for i in range(10)]
    # each item: 100 + 6 + 4 + 32 = 142 bytes
    assert list(split_by_size(docs, max_docs=4, max_bytes=10_000)) == [
        range(0, 4),
        range(4, 8),
        range(8, 10),
    ]
    assert list(split_by_size(docs, max_docs=100, max_bytes=145 * 3)) == [
        range(0, 3),
        range(3, 6),
        range(6, 9),
        range(9, 10),
    ]


def test_split_by_size_oversized_doc_gets_its_own_range() -> None:
    docs = [Doc("i", "1", b"x"), Doc("i", "2", b"y" * 5000), Doc("i", "3", b"z")]
    assert list(split_by_size(docs, max_docs=10, max_bytes=1000)) == [
        range(0, 1),
        range(1, 2),
        range(2, 3),
    ]
    assert list(split_by_size([], 10, 1000)) == []


def test_backoff_bounds() -> None:
    policy = BackoffPolicy(base_s=0.1, cap_s=30.0, multiplier=2.0)
    assert policy.delay(1, 0.0) == pytest.approx(0.05)
    assert policy.delay(1, 0.999999) == pytest.approx(0.1, rel=1e-5)
    assert policy.delay(4, 0.5) == pytest.approx(0.8 * 0.75)
    for attempt in range(1, 200):
        low, high = policy.ceiling(attempt) / 2, policy.ceiling(attempt)
        assert low <= policy.delay(attempt, 0.0) <= policy.delay(attempt, 0.999) <= high
        assert high <= 30.0
    assert policy.delay(10_000, 0.0) == 15.0  # capped, no float overflow
    assert policy.ceiling(9) == 25.6
    assert policy.ceiling(10) == 30.0


def test_filtered_bad_timestamp_response_is_rejected_with_innermost_cause() -> None:
    response = load("bulk_bad_timestamp_filtered.json")
    outcome = classify_bulk_response(response, 2)
    assert outcome.done == [0]
    (rejection,) = outcome.rejected
    assert rejection.position == 1
    assert rejection.reason == (
        "mapper_parsing_exception: failed to parse field [@timestamp] of type [date_nanos] in "
        "document with id 'id-8'. Preview of field's value: 'yesterday-ish' (caused by "
        "date_time_parse_exception: Failed to parse with all enclosed parsers)"
    )


def test_default_backoff_is_capped_at_ten_seconds() -> None:
    policy = BackoffPolicy()
    assert policy.ceiling(1) == 0.1
    assert policy.ceiling(8) == 10.0
    assert policy.delay(1_000_000, 0.5) == 7.5
