"""new_term, change, blacklist, whitelist, cardinality, metric_aggregation, any."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitacora.rules.engine import is_idle
from tests.unit.rules.util import T0, Runner, ev, make


def test_new_term_learns_during_warmup_then_alerts_new_values() -> None:
    run = Runner(
        make(type="new_term", fields=["error.type"], query_key="service.name", warmup="10m")
    )
    assert run.feed(ev(0, error__type="KeyError")) == []
    assert run.feed(ev(599, error__type="ValueError")) == []  # still learning
    assert run.feed(ev(600, error__type="KeyError")) == []  # known
    [match] = run.feed(ev(601, error__type="TimeoutError"))
    assert match.extra == {"new_field": "error.type", "new_value": "TimeoutError"}
    assert run.feed(ev(602, error__type="TimeoutError")) == []
    # Another service learns on its own.
    assert run.feed(ev(700, service__name="order-service", error__type="TimeoutError")) == []


def test_new_term_forgets_terms_older_than_the_window() -> None:
    run = Runner(make(type="new_term", fields=["error.type"], warmup=0, terms_window_size="1d"))
    assert len(run.feed(ev(0, error__type="A"))) == 1
    assert run.feed(ev(86400, error__type="A")) == []  # exactly the window: still known
    assert len(run.feed(ev(2 * 86400 + 1, error__type="A"))) == 1


def test_new_term_composite_fields_and_missing_field() -> None:
    run = Runner(
        make(
            type="new_term",
            fields=[["service.name", "error.type"]],
            warmup=0,
            alert_on_missing_field=True,
        )
    )
    [match] = run.feed(ev(0, error__type="E"))
    assert match.extra == {"new_field": "service.name,error.type", "new_value": "user-service, E"}
    [missing] = run.feed(ev(1))
    assert missing.extra == {"missing_field": "service.name,error.type"}


def test_new_term_keeps_at_most_max_terms() -> None:
    run = Runner(make(type="new_term", fields=["client.ip"], warmup=0, max_terms=2))
    for i, ip in enumerate(["1", "2", "3"]):
        run.feed(ev(i, client__ip=ip))
    assert sorted(run.states["all"]["terms"]["client.ip"]) == ["2", "3"]


def test_change_like_elastalert2_example() -> None:
    run = Runner(
        make(
            type="change",
            compare_key="country_name",
            query_key="username",
            ignore_null=True,
            timeframe={"days": 1},
        )
    )
    assert run.feed(ev(0, username="bob", country_name="USA")) == []
    assert run.feed(ev(10, username="bob")) == []  # null ignored, value kept
    [match] = run.feed(ev(5 * 3600, username="bob", country_name="Russia"))
    assert match.extra == {"old_value": "USA", "new_value": "Russia"}
    assert run.feed(ev(5 * 3600 + 1, username="alice", country_name="Russia")) == []
    # Changed after more than a day: not a match, but remembered.
    assert run.feed(ev(5 * 3600 + 86401, username="bob", country_name="France")) == []


def test_change_without_ignore_null_sees_null_as_a_value() -> None:
    run = Runner(make(type="change", compare_key="country_name", query_key="username"))
    run.feed(ev(0, username="bob", country_name="USA"))
    [match] = run.feed(ev(1, username="bob"))
    assert match.extra == {"old_value": "USA", "new_value": None}


def test_blacklist_and_whitelist(tmp_path: Path) -> None:
    listed = tmp_path / "bad.txt"
    listed.write_text("evil@example.com\n\n")
    black = Runner(
        make(
            type="blacklist",
            compare_key="user.email",
            blacklist=["bad@example.com", f"!file {listed}", 7],
        )
    )
    assert len(black.feed(ev(0, user__email="bad@example.com"))) == 1
    assert len(black.feed(ev(0, user__email="evil@example.com"))) == 1
    assert len(black.feed(ev(0, user__email=7))) == 1
    assert black.feed(ev(0, user__email="good@example.com")) == []
    assert black.feed(ev(0)) == []
    white = Runner(
        make(
            type="whitelist",
            compare_key="http.response.status_code",
            whitelist=[200, "304"],
            ignore_null=True,
        )
    )
    assert white.feed(ev(0, http__response__status_code=200)) == []
    assert white.feed(ev(0, http__response__status_code=304)) == []
    assert len(white.feed(ev(0, http__response__status_code=500))) == 1
    assert white.feed(ev(0)) == []  # ignore_null
    strict = Runner(
        make(
            type="whitelist",
            compare_key="http.response.status_code",
            whitelist=[200],
            ignore_null=False,
        )
    )
    assert len(strict.feed(ev(0))) == 1


def test_any_matches_every_filtered_event() -> None:
    run = Runner(make(type="any", filter=[{"query_string": {"query": "message:FATAL"}}]))
    assert len(run.feed(ev(0, message="FATAL: the database system is shutting down"))) == 1
    assert run.feed(ev(0, message="fatalistic")) == []


def test_cardinality_max() -> None:
    run = Runner(
        make(
            type="cardinality",
            cardinality_field="client.ip",
            max_cardinality=2,
            timeframe={"seconds": 60},
        )
    )
    assert run.feed(ev(0, client__ip="a")) == []
    assert run.feed(ev(1, client__ip="b")) == []
    assert run.feed(ev(2, client__ip="b")) == []
    [match] = run.feed(ev(3, client__ip="c"))
    assert match.extra == {"cardinality": 3}
    # a is forgotten once strictly older than the timeframe
    run2 = Runner(
        make(
            type="cardinality",
            cardinality_field="client.ip",
            max_cardinality=2,
            timeframe={"seconds": 60},
        )
    )
    run2.feed(ev(0, client__ip="a"))
    run2.feed(ev(1, client__ip="b"))
    assert run2.feed(ev(61, client__ip="c")) == []  # a is 61 s old: gone


def test_cardinality_min_on_tick() -> None:
    run = Runner(
        make(
            type="cardinality",
            cardinality_field="host.name",
            min_cardinality=2,
            timeframe={"seconds": 60},
        )
    )
    run.feed(ev(0, host__name="h1"))
    run.feed(ev(30, host__name="h1"))
    assert run.tick(60) == []  # not more than a timeframe watched
    [match] = run.tick(61)
    assert match.extra == {"cardinality": 1}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("max", 900.0), ("min", 100.0), ("avg", 500.0), ("sum", 1000.0), ("count", 2.0)],
)
def test_metric_aggregation_bucket_closes_then_compares(kind: str, expected: float) -> None:
    run = Runner(
        make(
            type="metric_aggregation",
            metric_agg_key="event.duration",
            metric_agg_type=kind,
            max_threshold=expected - 1,
            bucket_interval="1m",
        )
    )
    start = 60 * 10  # T0 is a whole minute
    assert run.feed(ev(start + 1, event__duration=100)) == []
    assert run.feed(ev(start + 59, event__duration=900)) == []
    [match] = run.feed(ev(start + 60, event__duration=1))  # watermark reaches the bucket end
    assert match.extra == {f"metric_event.duration_{kind}": expected}
    assert (match.first_ts, match.last_ts, match.count) == (T0 + start, T0 + start + 60, 2)


def test_metric_aggregation_min_threshold_by_tick_and_idle() -> None:
    crule = make(
        type="metric_aggregation",
        metric_agg_key="event.duration",
        metric_agg_type="avg",
        min_threshold=10,
        bucket_interval=60,
    )
    run = Runner(crule)
    run.feed(ev(5, event__duration=4))
    assert run.tick(59) == []
    [match] = run.tick(60)
    assert match.extra == {"metric_event.duration_avg": 4.0}
    assert is_idle(crule, run.states["all"], T0 + 60)
