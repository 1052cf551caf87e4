"""The weekly review's pure parts: weeks, masking and mining, parsers, alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bitacora.dashboards.report.model import ServiceTrend, Week, change
from bitacora.dashboards.report.patterns import ErrorLine, mask, mine
from bitacora.dashboards.report.queries import (
    parse_deadletters,
    parse_endpoints,
    parse_error_types,
    parse_service_daily,
    service_daily_body,
    summarize_alerts,
)

W = Week.parse("2026-W48")


def test_weeks() -> None:
    assert W.start == datetime(2026, 11, 23, tzinfo=UTC)
    assert W.end == datetime(2026, 11, 30, tzinfo=UTC)
    assert W.previous == Week(2026, 47)
    assert Week.parse("2026w01").previous == Week(2025, 52)
    assert W.label == "2026-W48"
    assert W.days[0] == date(2026, 11, 23)
    assert Week.last_complete(datetime(2026, 11, 28, 12, tzinfo=UTC)) == Week(2026, 47)
    with pytest.raises(ValueError, match="expected an ISO week"):
        Week.parse("2026-11")
    with pytest.raises(ValueError, match="2025 has no week 53"):
        Week.parse("2025-W53")


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        ("order ord-8812 failed for user 42", "order <ID> failed for user <NUM>"),
        ("from 10.0.0.12:5432 in 35ms", "from <IP> in <NUM>"),
        ("req 3f2a9c1e-1111-4c2b-9d3e-0123456789ab timed out", "req <UUID> timed out"),
        ("ptr 0xdeadbeef hash a94a8fe5ccb19ba61c4c", "ptr <HEX> hash <HEX>"),
        ("fe80::1:2:3:4 unreachable", "<IP> unreachable"),
        ("code A1B2C3 amount 12.50", "code <ID> amount <NUM>"),
        ("Connection refused", "Connection refused"),
    ],
)
def test_mask(message: str, masked: str) -> None:
    assert mask(message) == masked


def test_mine_keys_new_patterns_by_cluster() -> None:
    t0 = datetime(2026, 11, 20, tzinfo=UTC)
    prev = [ErrorLine(t0, f"timeout calling inventory after {i}ms") for i in range(20)]
    cur = [
        ErrorLine(t0 + timedelta(days=4, minutes=i), f"timeout calling inventory after {i}ms")
        for i in range(5)
    ]
    cur += [
        ErrorLine(
            t0 + timedelta(days=5, minutes=i),
            f"stock {i} rejected by wh-{i}a",
            "order-service",
            f"e{i}",
        )
        for i in range(4)
    ]
    stats = mine(prev, cur)
    assert [(p.template, p.count, p.prev_count, p.is_new) for p in stats] == [
        ("timeout calling inventory after <NUM>", 5, 20, False),
        ("stock <NUM> rejected by <ID>", 4, 0, True),
    ]
    new = stats[1]
    assert new.first_seen == t0 + timedelta(days=5)
    assert new.services == {"order-service": 4}
    assert [s.event_id for s in new.samples] == ["e0", "e1", "e2"]


def _bucket(day: date, count: int, errors: int | None = None) -> dict[str, Any]:
    key = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    bucket: dict[str, Any] = {"key": key, "doc_count": count}
    if errors is not None:
        bucket["errors"] = {"doc_count": errors}
    return bucket


def test_service_daily() -> None:
    body = service_daily_body(W)
    hist = body["aggs"]["services"]["aggs"]["days"]["date_histogram"]
    assert hist["extended_bounds"] == {
        "min": "2026-11-16T00:00:00.000000Z",
        "max": "2026-11-29T23:59:59.999000Z",
    }
    answer = {
        "aggregations": {
            "services": {
                "buckets": [
                    {"key": "b", "doc_count": 3, "days": {"buckets": [_bucket(W.days[6], 3, 0)]}},
                    {
                        "key": "a",
                        "doc_count": 9,
                        "days": {
                            "buckets": [
                                _bucket(W.previous.days[0], 4, 1),
                                _bucket(W.days[1], 5, 2),
                                _bucket(W.end.date(), 99, 99),  # outside: ignored
                            ]
                        },
                    },
                ]
            }
        }
    }
    a, b = parse_service_daily(answer, W)
    assert (a.service, a.events, a.errors) == ("a", [0, 5, 0, 0, 0, 0, 0], [0, 2, 0, 0, 0, 0, 0])
    assert (a.prev_events, a.prev_errors) == ([4, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0])
    assert b.events == [0, 0, 0, 0, 0, 0, 3]


def test_got_worse_and_change() -> None:
    assert change(15, 10) == 50.0
    assert change(3, 0) is None
    assert ServiceTrend("a", errors=[5, 0, 0, 0, 0, 0, 0], prev_errors=[0] * 7).got_worse
    assert not ServiceTrend("a", errors=[4, 0, 0, 0, 0, 0, 0]).got_worse  # too few to matter
    assert not ServiceTrend(
        "a", errors=[14, 0, 0, 0, 0, 0, 0], prev_errors=[10] + [0] * 6
    ).got_worse
    assert ServiceTrend("a", errors=[15, 0, 0, 0, 0, 0, 0], prev_errors=[10] + [0] * 6).got_worse


def test_error_types_deadletters_endpoints() -> None:
    current = {
        "aggregations": {
            "types": {
                "buckets": [
                    {
                        "key": "Timeout",
                        "doc_count": 9,
                        "services": {"buckets": [{"key": "a", "doc_count": 9}]},
                    },
                    {"key": "New", "doc_count": 2, "services": {"buckets": []}},
                ]
            }
        }
    }
    previous = {"aggregations": {"types": {"buckets": [{"key": "Timeout", "doc_count": 4}]}}}
    types = parse_error_types(current, previous)
    assert [(t.name, t.count, t.prev_count, t.services) for t in types] == [
        ("Timeout", 9, 4, (("a", 9),)),
        ("New", 2, 0, ()),
    ]
    letters = parse_deadletters(
        {
            "aggregations": {
                "days": {"buckets": [_bucket(W.days[2], 4), _bucket(W.previous.days[6], 1)]},
                "this_week": {
                    "stages": {"buckets": [{"key": "index", "doc_count": 4}]},
                    "reasons": {"buckets": [{"key": "too big", "doc_count": 4}]},
                },
            }
        },
        W,
    )
    assert (letters.per_day, letters.prev_per_day) == ([0, 0, 4, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1])
    assert (letters.total, letters.by_stage, letters.top_reasons) == (
        4,
        [("index", 4)],
        [("too big", 4)],
    )

    def ep(path: str, n: int, avg: float | None, p95: float | None) -> dict[str, Any]:
        return {
            "key": path,
            "doc_count": n,
            "avg_duration": {"value": avg},
            "p95_duration": {"values": {"95.0": p95}},
        }

    busiest, slowest = parse_endpoints(
        {
            "aggregations": {
                "busiest": {"buckets": [ep("/a", 10, 2e6, 5e6)]},
                "slowest": {"buckets": [ep("/b", 3, 9e8, 1e9), ep("/c", 3, None, None)]},
            }
        }
    )
    assert [(e.path, e.count, e.avg_ms, e.p95_ms) for e in busiest] == [("/a", 10, 2.0, 5.0)]
    assert [(e.path, e.avg_ms, e.p95_ms) for e in slowest] == [("/b", 900.0, 1000.0)]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_alerts_time_to_resolve() -> None:
    t = W.start + timedelta(days=1)
    docs = [
        {"@timestamp": _iso(t), "rule": "burst", "key": "a", "status": "firing"},
        {
            "@timestamp": _iso(t + timedelta(minutes=5)),
            "rule": "burst",
            "key": "b",
            "status": "firing",
        },
        {
            "@timestamp": _iso(t + timedelta(minutes=30)),
            "rule": "burst",
            "key": "a",
            "status": "resolved",
        },
        {
            "@timestamp": _iso(t + timedelta(minutes=65)),
            "rule": "burst",
            "key": "b",
            "status": "resolved",
        },
        # A resolve of an alert fired before the documents at hand: first_event_time stands in.
        {
            "@timestamp": _iso(t),
            "rule": "silent",
            "key": "all",
            "status": "resolved",
            "first_event_time": _iso(t - timedelta(hours=2)),
        },
        # The mapped shape works too; an alert of last week is not counted as fired.
        {
            "@timestamp": _iso(W.start - timedelta(hours=1)),
            "rule.name": "old",
            "alert.status": "firing",
        },
    ]
    summary = summarize_alerts(docs, W)
    assert [
        (a.rule, a.fired, a.resolved, a.median_resolve_s, a.max_resolve_s, a.open) for a in summary
    ] == [
        ("burst", 2, 2, 2700.0, 3600.0, 0),
        ("silent", 0, 1, 7200.0, 7200.0, 0),
    ]
