"""frequency: num_events within timeframe per query_key, ElastAlert2 semantics."""

from __future__ import annotations

from typing import Any

from bitacora.rules.engine import LATE_EVENTS
from tests.unit.rules.util import T0, Runner, ev, make


def freq(**options: Any) -> Runner:
    base: dict[str, Any] = {"type": "frequency", "num_events": 3, "timeframe": {"seconds": 60}}
    base.update(options)
    return Runner(make(**base))


def test_n_minus_one_events_do_not_match_and_n_do() -> None:
    run = freq()
    assert run.feed(ev(0)) == []
    assert run.feed(ev(10)) == []
    [match] = run.feed(ev(20))
    assert (match.rule, match.key, match.status, match.count) == ("r", "all", "firing", 3)
    assert (match.first_ts, match.last_ts) == (T0, T0 + 20)
    assert [s["@timestamp"] for s in match.samples] == [
        ev(0)["@timestamp"],
        ev(10)["@timestamp"],
        ev(20)["@timestamp"],
    ]


def test_window_resets_after_a_match_like_elastalert2() -> None:
    run = freq()
    for offset in (0, 1, 2):
        run.feed(ev(offset))
    assert run.feed(ev(3)) == []
    assert run.feed(ev(4)) == []
    assert len(run.feed(ev(5))) == 1


def test_event_exactly_timeframe_older_has_left_the_window() -> None:
    run = freq()
    run.feed(ev(0))
    run.feed(ev(30))
    # 60 s after the first: the first is out ((newest - 60, newest]), count is 2.
    assert run.feed(ev(60)) == []
    # 59.999 s after the second one: 30, 60, 89.999 are inside.
    assert len(run.feed(ev(89.999))) == 1


def test_just_inside_the_window_matches() -> None:
    run = freq()
    run.feed(ev(0))
    run.feed(ev(30))
    assert len(run.feed(ev(59.999))) == 1


def test_separate_query_keys_count_separately() -> None:
    run = freq(query_key="service.name")
    assert run.feed(ev(0, service__name="a")) == []
    assert run.feed(ev(1, service__name="b")) == []
    assert run.feed(ev(2, service__name="a")) == []
    assert run.feed(ev(3, service__name="b")) == []
    [match] = run.feed(ev(4, service__name="a"))
    assert match.key == "a"
    [match] = run.feed(ev(5, service__name="b"))
    assert match.key == "b"


def test_compound_query_key_and_missing_value() -> None:
    run = freq(query_key=["service.name", "host.name"], num_events=1)
    [match] = run.feed(ev(0, host__name="h1"))
    assert match.key == "user-service, h1"
    [match] = run.feed(ev(1))
    assert match.key == "user-service, None"


def test_out_of_order_event_within_lateness_counts() -> None:
    run = Runner(make(lateness=30, type="frequency", num_events=3, timeframe={"seconds": 60}))
    run.feed(ev(100))
    run.feed(ev(120))
    [match] = run.feed(ev(95))  # 25 s late, within 30 s lateness, inside (60, 120]
    assert (match.count, match.first_ts, match.last_ts) == (3, T0 + 95, T0 + 120)


def test_out_of_order_event_within_lateness_but_outside_window_does_not_count() -> None:
    run = Runner(make(lateness=90, type="frequency", num_events=3, timeframe={"seconds": 60}))
    run.feed(ev(100))
    run.feed(ev(120))
    assert run.feed(ev(60)) == []  # within lateness, but 120 - 60 >= 60: outside the window
    assert run.states["all"]["times"] == [T0 + 100, T0 + 120]


def test_event_beyond_lateness_is_ignored_and_counted() -> None:
    before = LATE_EVENTS["r"]
    run = Runner(make(lateness=10, type="frequency", num_events=2, timeframe={"seconds": 60}))
    run.feed(ev(100))
    assert run.feed(ev(89)) == []  # 11 s older than the newest, lateness 10 s
    assert run.states["all"]["late"] == 1
    assert LATE_EVENTS["r"] == before + 1
    assert run.feed(ev(90)) != []  # exactly at the lateness bound: accepted


def test_resolve_after_a_quiet_timeframe_by_tick() -> None:
    run = freq()
    for offset in (0, 1, 2):
        run.feed(ev(offset))
    assert run.tick(61.999) == []
    [resolved] = run.tick(62)
    assert (resolved.status, resolved.key, resolved.first_ts, resolved.last_ts) == (
        "resolved",
        "all",
        T0 + 2,
        T0 + 62,
    )
    assert run.tick(200) == []


def test_resolve_by_a_later_event_time() -> None:
    run = freq()
    for offset in (0, 1, 2):
        run.feed(ev(offset))
    [resolved] = run.feed(ev(70))
    assert resolved.status == "resolved"


def test_no_resolve_while_still_above_threshold() -> None:
    run = freq()
    for offset in (0, 1, 2, 30, 31, 32):
        run.feed(ev(offset))
    assert run.tick(62) == []  # a second match at 32 moved the resolve to 92
    assert [m.status for m in run.tick(92)] == ["resolved"]


def test_resolve_disabled() -> None:
    run = freq(resolve=False)
    for offset in (0, 1, 2):
        run.feed(ev(offset))
    assert run.tick(1000) == []


def test_filter_applies_before_counting() -> None:
    run = freq(num_events=2, filter=[{"term": {"log.level": "error"}}])
    run.feed(ev(0, log__level="info"))
    assert run.feed(ev(1, log__level="info")) == []
    assert run.feed(ev(2)) == []
    assert len(run.feed(ev(3))) == 1


def test_weighted_events_count_as_many() -> None:
    from bitacora.rules.engine import observe

    crule = make(type="frequency", num_events=5, timeframe={"seconds": 60})
    state: dict[str, object] = {}
    assert observe(crule, ev(0), state, T0, "all", weight=4) == []
    assert len(observe(crule, ev(1), state, T0, "all", weight=1)) == 1


def test_replayed_ids_count_once_within_twice_num_events_even_after_a_reload() -> None:
    import json

    from bitacora.rules.engine import observe

    crule = make(type="frequency", num_events=3, timeframe="1h")
    state: dict[str, Any] = {}

    def feed(offset: float, event_id: str) -> int:
        event = ev(offset, event__id=event_id)
        return len(observe(crule, event, state, T0 + 10_000, "all"))

    assert [feed(0, "a"), feed(1, "b"), feed(2, "a"), feed(3, "b")] == [0, 0, 0, 0]
    # Read back from its bytes (a restarted worker): the ids still count.
    state = json.loads(json.dumps(state))
    assert feed(4, "a") == 0
    assert state["ids"] == ["a", "b"]
    # Six newer ids push "a" out of the remembered 2 * num_events: counted again.
    assert [feed(5 + i, f"n{i}") for i in range(6)] == [1, 0, 0, 1, 0, 0]
    assert "a" not in state["ids"]
    assert [feed(20, "a"), feed(21, "a")] == [1, 0]  # counted again, then a replay
    assert state["ids"][-1] == "a"
    assert state["ids"].count("a") == 1
