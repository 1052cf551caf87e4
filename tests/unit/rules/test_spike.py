"""spike: current vs reference window, spike_height/type, thresholds, waiting two windows."""

from __future__ import annotations

from typing import Any

from tests.unit.rules.util import T0, Runner, ev, make


def spike(**options: Any) -> Runner:
    base: dict[str, Any] = {
        "type": "spike",
        "timeframe": {"seconds": 100},
        "spike_height": 3,
        "spike_type": "up",
    }
    base.update(options)
    return Runner(make(**base))


def test_up_spike_after_both_windows_filled() -> None:
    run = spike()
    run.feed(ev(0))  # reference window: one event (first seen at 0)
    out = []
    for offset in (150, 160, 199):
        out += run.feed(ev(offset))
    assert out == []  # 199 - 0 < 200: the key has not been watched for two windows yet
    [match] = run.feed(ev(200))  # window (100, 200]: 4 events vs ref (0, 100]: 0 → up
    assert (match.count, match.extra) == (4, {"spike_count": 4, "reference_count": 0})


def test_exact_height_is_a_spike_and_below_is_not() -> None:
    run = spike(threshold_ref=1)
    for offset in (0, 50, 90):
        run.feed(ev(offset))  # ref window (0, 100] of T=200 holds 50 and 90 (0 is out)
    for offset in (110, 120, 130, 140, 150):
        assert run.feed(ev(offset)) == []  # too early (before T=200)
    # At T=200: ref (0,100] = {50, 90} = 2, cur (100,200] = 5 + this = 6 = 2·3 → spike.
    [match] = run.feed(ev(200))
    assert match.extra == {"spike_count": 6, "reference_count": 2}


def test_below_height_no_spike() -> None:
    run = spike(threshold_ref=1)
    for offset in (0, 50, 90):
        run.feed(ev(offset))
    for offset in (110, 120, 130, 140):
        run.feed(ev(offset))
    assert run.feed(ev(200)) == []  # cur 5 < 2·3


def test_threshold_cur_blocks_small_counts() -> None:
    run = spike(threshold_cur=5)
    run.feed(ev(0))
    for offset in (150, 160, 170):
        run.feed(ev(offset))
    assert run.feed(ev(200)) == []  # cur 4 < threshold_cur 5


def test_down_spike_fires_on_tick_when_traffic_stops() -> None:
    run = spike(spike_type="down", threshold_ref=3)
    for offset in range(0, 200, 10):
        run.feed(ev(offset))  # steady: 10 per 100 s
    assert run.tick(250) == []  # cur (150, 250] = 5, ref (50, 150] = 10: not ≤ 10/3
    [match] = run.tick(290)  # cur (190, 290] = 0, ref (90, 190] = 10 → 0 ≤ 3.33
    assert match.extra == {"spike_count": 0, "reference_count": 10}
    assert match.event["@timestamp"].startswith("2027-01-15T08:04:50")


def test_after_a_match_the_key_waits_two_windows() -> None:
    run = spike()
    run.feed(ev(0))
    for offset in (150, 160, 170):
        run.feed(ev(offset))
    assert len(run.feed(ev(200))) == 1
    assert run.feed(ev(201)) == []
    assert run.feed(ev(399)) == []


def test_separate_keys() -> None:
    run = spike(query_key="service.name", threshold_cur=2)
    run.feed(ev(0, service__name="a"))
    run.feed(ev(0, service__name="b"))
    for offset in (150, 160, 170):
        run.feed(ev(offset, service__name="a"))
    [match] = run.feed(ev(200, service__name="a"))
    assert match.key == "a"
    assert run.feed(ev(200, service__name="b")) == []


def test_counts_are_per_second() -> None:
    run = spike()
    run.feed(ev(0.2))
    run.feed(ev(0.7))
    assert run.states["all"]["counts"] == [[T0, 2]]


def test_late_events_beyond_lateness_are_ignored_within_are_counted() -> None:
    run = Runner(
        make(lateness=30, type="spike", timeframe={"seconds": 100}, spike_height=3, spike_type="up")
    )
    run.feed(ev(100))
    run.feed(ev(75))  # 25 s late: counted
    run.feed(ev(60))  # 40 s late: ignored
    assert run.states["all"]["counts"] == [[T0 + 75, 1], [T0 + 100, 1]]
    assert run.states["all"]["late"] == 1
