"""flatline: fewer than threshold within timeframe; realerting every timeframe; resolve."""

from __future__ import annotations

from typing import Any

from tests.unit.rules.util import T0, Runner, ev, make


def flat(**options: Any) -> Runner:
    base: dict[str, Any] = {
        "type": "flatline",
        "threshold": 2,
        "timeframe": {"seconds": 60},
        "query_key": "service.name",
    }
    base.update(options)
    return Runner(make(**base))


def test_no_match_before_a_whole_timeframe_of_watching() -> None:
    run = flat()
    run.feed(ev(0))
    assert run.tick(59) == []


def test_match_when_below_threshold_after_timeframe() -> None:
    run = flat()
    run.feed(ev(0))
    run.feed(ev(10))
    [match] = run.tick(60)  # window (0, 60] holds 10 only: 1 < 2
    assert (match.status, match.key, match.count) == ("firing", "user-service", 1)
    assert match.event["service.name"] == "user-service"
    assert match.extra == {"key": "user-service", "count": 1}


def test_threshold_reached_means_no_match() -> None:
    run = flat()
    run.feed(ev(0))
    run.feed(ev(30))
    run.feed(ev(40))
    assert run.tick(60) == []  # window (0, 60] holds 30 and 40
    assert len(run.tick(90)) == 1  # window (30, 90] holds 40 only


def test_match_repeats_every_timeframe_while_silent() -> None:
    run = flat(threshold=1)
    run.feed(ev(0))
    assert len(run.tick(61)) == 1
    assert run.tick(120) == []
    assert len(run.tick(121)) == 1


def test_resolve_when_traffic_is_back() -> None:
    run = flat(threshold=1)
    run.feed(ev(0))
    assert len(run.tick(61)) == 1
    [resolved] = run.feed(ev(70))
    assert (resolved.status, resolved.key) == ("resolved", "user-service")
    assert run.feed(ev(71)) == []


def test_forget_keys_drops_the_key_after_its_match() -> None:
    from bitacora.rules.engine import is_idle

    run = flat(threshold=1, forget_keys=True)
    run.feed(ev(0))
    assert len(run.tick(61)) == 1
    assert run.states["user-service"] == {}
    assert is_idle(run.crule, run.states["user-service"], T0 + 62)
    assert run.tick(200) == []


def test_state_stays_small_under_heavy_traffic() -> None:
    run = flat(threshold=3)
    for i in range(10_000):
        run.feed(ev(i / 100))
    assert run.states["user-service"]["seconds"] == [T0 + 99, T0 + 99, T0 + 99]


def test_lateness_shifts_the_watermark() -> None:
    run = Runner(make(lateness=30, type="flatline", threshold=1, timeframe={"seconds": 60}))
    run.feed(ev(0))
    assert run.tick(89) == []  # watermark 59: not watched for a whole timeframe yet
    assert len(run.tick(90)) == 1  # watermark 60: window (0, 60] is empty


def test_out_of_order_within_lateness_counts_beyond_is_ignored() -> None:
    run = Runner(make(lateness=30, type="flatline", threshold=2, timeframe={"seconds": 60}))
    run.feed(ev(100))
    run.feed(ev(80))  # 20 s late: counted
    run.feed(ev(50))  # 50 s late: ignored
    assert run.states["all"]["seconds"] == [T0 + 80, T0 + 100]
    assert run.states["all"]["late"] == 1
