"""percentage_match and spike_aggregation, from ElastAlert2's example files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bitacora.rules.alerts import Alert
from bitacora.rules.loader import read_rule
from bitacora.rules.model import Rule
from bitacora.rules.replay import run_rules_over
from tests.unit.rules.util import ev

EXAMPLES = Path(__file__).parents[2] / "data" / "elastalert2" / "examples"


def example(name: str) -> Rule:
    return read_rule(EXAMPLES / name).rule


def replay(rule: Rule, events: list[dict[str, Any]]) -> list[Alert]:
    return run_rules_over(events, [rule], lateness_s=0, apply_realert=False)


def test_percentage_match_fires_per_host_below_95_percent_success() -> None:
    rule = example("example_percentage_match.yaml")  # buffer_time 5 min, min 95 %

    def request(offset: float, host: str, status: int) -> dict[str, Any]:
        return ev(offset, _type="http_request", ResponseStatus=status, **{"Hostname.keyword": host})

    events = [request(i, "a", 200) for i in range(19)] + [request(19, "a", 500)]  # 95 %: ok
    events += [request(i, "b", 200) for i in range(18)] + [request(20, "b", 503)] * 2  # 90 %
    events += [request(300, "a", 200), request(300, "b", 200)]  # closes the first buckets
    alerts = replay(rule, events)
    assert [(a.key, a.count, a.extra) for a in alerts] == [
        ("b", 20, {"percentage": 90.0, "denominator": 20})
    ]


def test_spike_aggregation_compares_bucket_averages() -> None:
    rule = example("example_spike_single_metric_agg.yaml")

    # timeframe 4 h, buffer_time 1 h buckets, avg cpu, spike_height 2, threshold_cur 0.9,
    # min_doc_count 5: five hourly buckets of avg 0.3, then four of avg 0.95; a key alerts
    # once watched for two timeframes (8 h after its first sample, at the end of hour 1).
    def cpu(offset: float, value: float) -> dict[str, Any]:
        return ev(
            offset, **{"metricset.name": "cpu", "beat.hostname": "h1", "system.cpu.user.pct": value}
        )

    events = []
    for hour in range(9):
        value = 0.3 if hour < 5 else 0.95
        events += [cpu(hour * 3600 + minute * 60, value) for minute in range(5)]
    events.append(cpu(9 * 3600, 0.5))  # closes the last bucket
    [alert] = replay(rule, events)
    assert alert.key == "h1"
    assert alert.extra == {"spike_count": 0.95, "reference_count": 0.3}
    assert alert.last_event_time == "2027-01-15T17:00:00.000Z"
