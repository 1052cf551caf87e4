"""run_rules_over: the in-process path the CLI and e2e tests use, with realert applied."""

from __future__ import annotations

from pathlib import Path

from bench.rules_support import make_events, make_rules
from bitacora.rules.model import Rule
from bitacora.rules.replay import Engine, run_rules_over
from tests.unit.rules.util import T0, ev


def test_burst_gives_one_alert_then_realert_then_resolve() -> None:
    rule = Rule.model_validate(
        {
            "name": "burst",
            "type": "frequency",
            "num_events": 5,
            "timeframe": "1m",
            "query_key": "service.name",
            "realert": "5m",
            "filter": [{"term": {"log.level": "error"}}],
        }
    )
    burst = [ev(i) for i in range(50)]  # 10 matches, one alert within realert
    alerts = run_rules_over(burst, [rule], now=T0 + 49, lateness_s=0)
    assert [(a.status, a.count, a.key) for a in alerts] == [("firing", 5, "user-service")]
    again = [*burst, *(ev(400 + i) for i in range(5))]
    alerts = run_rules_over(again, [rule], now=T0 + 1000, lateness_s=0)
    # The event at 400 s first resolves the burst (quiet for more than a timeframe after
    # the last match at 49 s), then starts a new one; the final tick resolves that too.
    assert [(a.status, a.first_event_time) for a in alerts] == [
        ("firing", "2027-01-15T08:00:00.000Z"),
        ("resolved", "2027-01-15T08:00:49.000Z"),
        ("firing", "2027-01-15T08:06:40.000Z"),
        ("resolved", "2027-01-15T08:06:44.000Z"),
    ]


def test_flatline_in_replay_uses_event_time() -> None:
    rule = Rule.model_validate(
        {
            "name": "silent",
            "type": "flatline",
            "threshold": 1,
            "timeframe": "1m",
            "query_key": "service.name",
            "realert": "10m",
        }
    )
    events = [
        ev(0, service__name="a"),
        ev(0, service__name="b"),
        *(ev(t, service__name="b") for t in range(10, 200, 10)),
    ]
    alerts = run_rules_over(events, [rule], lateness_s=0)
    assert [(a.key, a.status) for a in alerts] == [("a", "firing")]


def test_bench_rules_are_distinct_and_valid() -> None:
    rules = make_rules(50)
    assert len({r.name for r in rules}) == 50
    engine = Engine(rules)
    matches = [m for event in make_events(2000) for m in engine.process(event, T0 + 100)]
    assert matches  # realistic traffic triggers some rules


def test_bench_rules_written_as_files_load_back(tmp_path: Path) -> None:
    from bench.rules_support import write_rules
    from bitacora.rules.loader import load_rules

    write_rules(tmp_path, 50)
    assert [loaded.rule for loaded in load_rules([tmp_path])] == make_rules(50)
