"""Request bodies of `bitacora search` (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bitacora.fields import lookup
from bitacora.search.errors import BadQueryError
from bitacora.search.query import (
    SearchParams,
    build_query,
    context_bodies,
    count_body,
    follow_body,
    histogram_body,
    pick_interval,
    search_body,
    sort_clause,
)

START = datetime(2026, 11, 20, tzinfo=UTC)
END = datetime(2026, 11, 21, tzinfo=UTC)
RANGE = {
    "range": {
        "@timestamp": {
            "format": "strict_date_optional_time_nanos",
            "gte": "2026-11-20T00:00:00.000000000Z",
            "lt": "2026-11-21T00:00:00.000000000Z",
        }
    }
}


def test_empty_and_star_match_all() -> None:
    assert build_query(SearchParams()) == {"match_all": {}}
    assert build_query(SearchParams(query=" * ")) == {"match_all": {}}


def test_every_filter() -> None:
    params = SearchParams(
        query="timeout AND url.path:\\/api*",
        start=START,
        end=END,
        services=("order-service", "user-service"),
        level="warn",
        trace_id="abc123",
    )
    assert build_query(params) == {
        "bool": {
            "must": [
                {
                    "query_string": {
                        "query": "timeout AND url.path:\\/api*",
                        "fields": ["message", "error.message", "error.type"],
                        "default_operator": "OR",
                        "analyze_wildcard": True,
                    }
                }
            ],
            "filter": [
                {"terms": {"service.name": ["order-service", "user-service"]}},
                {"range": {"event.severity": {"gte": 13}}},
                {"term": {"trace.id": "abc123"}},
                RANGE,
            ],
        }
    }


@pytest.mark.parametrize(
    ("level", "severity"), [("trace", 1), ("info", 9), ("error", 17), ("fatal", 21)]
)
def test_level_is_that_level_and_above(level: str, severity: int) -> None:
    query = build_query(SearchParams(level=level))
    assert query["bool"]["filter"] == [{"range": {"event.severity": {"gte": severity}}}]


def test_sort_is_timestamp_then_event_id() -> None:
    assert sort_clause(forward=False) == [
        {
            "@timestamp": {
                "order": "desc",
                "numeric_type": "date_nanos",
                "unmapped_type": "date_nanos",
            }
        },
        {"event.id": {"order": "desc", "unmapped_type": "keyword"}},
    ]
    assert [next(iter(c.values()))["order"] for c in sort_clause(forward=True)] == ["asc", "asc"]


def test_search_body_pages_with_search_after_never_from() -> None:
    params = SearchParams(fields=("url.path", "event.duration"))
    body = search_body(params, size=1000, forward=True, search_after=[1764000000000000000, "e-9"])
    assert "from" not in body
    assert body["size"] == 1000
    assert body["search_after"] == [1764000000000000000, "e-9"]
    assert body["track_total_hits"] is False
    assert body["_source"] == {
        "includes": [
            "@timestamp",
            "event.duration",
            "event.id",
            "host.name",
            "kubernetes.pod.name",
            "service.name",
            "url.path",
        ]
    }
    assert "search_after" not in search_body(SearchParams(), size=5, forward=False)


def test_count_body() -> None:
    assert count_body(SearchParams(level="error")) == {
        "query": {"bool": {"must": [], "filter": [{"range": {"event.severity": {"gte": 17}}}]}}
    }


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(seconds=30), ("1s", 1)),
        (timedelta(minutes=30), ("30s", 30)),
        (timedelta(hours=1), ("1m", 60)),
        (timedelta(hours=2), ("5m", 300)),
        (timedelta(days=1), ("30m", 1800)),
        (timedelta(days=14), ("6h", 21600)),
        (timedelta(days=3650), ("30d", 2592000)),
    ],
)
def test_pick_interval(span: timedelta, expected: tuple[str, int]) -> None:
    assert pick_interval(span) == expected


def test_histogram_body_has_empty_buckets_over_the_range() -> None:
    start_ns = 1_795_132_800_000_000_000  # 2026-11-20
    end_ns = start_ns + 86_400_000_000_000
    body = histogram_body(SearchParams(services=("a",)), start_ns, end_ns, "1h")
    assert body["size"] == 0
    assert body["query"]["bool"]["filter"][-1] == RANGE
    assert body["aggs"]["per_interval"]["date_histogram"] == {
        "field": "@timestamp",
        "fixed_interval": "1h",
        "min_doc_count": 0,
        "extended_bounds": {"min": 1_795_132_800_000, "max": 1_795_219_199_999},
    }
    assert histogram_body(SearchParams(), start_ns, end_ns, "1h")["query"] == {
        "bool": {"must": [], "filter": [RANGE]}
    }


def test_context_uses_service_and_pod_else_host() -> None:
    source = {"service.name": "order-service", "kubernetes.pod.name": "order-1", "host.name": "n1"}
    before, after = context_bodies(source, [5, "e-5"], 3, "logs-*")
    filters = [
        {"term": {"service.name": "order-service"}},
        {"term": {"kubernetes.pod.name": "order-1"}},
    ]
    assert before["query"] == {"bool": {"filter": filters}}
    assert before["sort"] == sort_clause(forward=False)
    assert after["sort"] == sort_clause(forward=True)
    assert before["search_after"] == after["search_after"] == [5, "e-5"]
    assert before["size"] == after["size"] == 3
    no_pod, _ = context_bodies({"service.name": "db", "host.name": "n1"}, [5, "x"], 1, "logs-*")
    assert no_pod["query"]["bool"]["filter"][1] == {"term": {"host.name": "n1"}}


def test_follow_body_reads_from_the_window_oldest_first() -> None:
    body = follow_body(SearchParams(query="x", start=START), 1_795_132_800_000_000_000, 500, None)
    assert body["sort"] == sort_clause(forward=True)
    filters = body["query"]["bool"]["filter"]
    # The search's own --since/--from is replaced by the follow window.
    assert filters == [
        {
            "range": {
                "@timestamp": {
                    "format": "strict_date_optional_time_nanos",
                    "gte": "2026-11-20T00:00:00.000000000Z",
                }
            }
        }
    ]


def test_lookup_flat_then_nested() -> None:
    assert lookup({"service.name": "a"}, "service.name") == "a"
    assert lookup({"service": {"name": "b"}}, "service.name") == "b"
    assert lookup({"service": "c"}, "service.name") is None


def test_syntax_the_rules_refuse_is_refused_before_sending() -> None:
    with pytest.raises(BadQueryError) as caught:
        build_query(SearchParams(query="timeot~1"))
    assert str(caught.value).startswith("bad query: query_string: fuzzy searches (~)")
