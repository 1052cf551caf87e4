"""``spike_aggregation`` with ``avg``/``min``/``max`` against ElastAlert2 2.19's daemon loop
(the ``sum`` case is compared in test_elastalert2_differential.py): equal values where
every query period has events; ElastAlert2 crashes on a period without any."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from bitacora.durations import parse_timestamp
from bitacora.rules.loader import read_rule_text
from bitacora.rules.replay import run_rules_over
from tests.integration.rules.elastalert2_support import at, daemon, rule_text, store

SPIKE = """
name: cpu spike
type: spike_aggregation
timeframe: {minutes: 30}
buffer_time: {minutes: 10}
metric_agg_key: cpu
query_key: host
spike_height: 2
spike_type: up
"""
# The traffic of one key: a sample per minute alternating base and base + 0.1; base 0.2
# for two hours, then 0.7. Per 10-minute bucket: avg base + 0.05, min base, max base + 0.1.
EVENTS = [
    {"@timestamp": at(m + 0.5), "host": "h1", "cpu": (0.2 if m < 120 else 0.7) + 0.1 * (m % 2)}
    for m in range(180)
]


CASES = [
    # The window (T - 30 min, T] against the one before it, over bucket values.
    # max: at 10:10, max(0.3, 0.3, 0.8) = 0.8 >= 2 * 0.3 already.
    ("max", ("10:10:00", "09:50:00", 0.8, 0.3)),
    # avg: at 10:20, mean(0.25, 0.75, 0.75) = 0.583333 >= 2 * 0.25.
    ("avg", ("10:20:00", "10:00:00", 0.583333, 0.25)),
    # min: at 10:30, min(0.7, 0.7, 0.7) = 0.7 >= 2 * 0.2.
    ("min", ("10:30:00", "10:10:00", 0.7, 0.2)),
]


@pytest.mark.parametrize(("kind", "expected"), CASES)
def test_spike_aggregation_of_avg_min_max(
    index: tuple[OpenSearch, str],
    opensearch_url: str,
    tmp_path: Path,
    writeback: str,
    kind: str,
    expected: tuple[str, str, float, float],
) -> None:
    client, name = index
    stored = store(client, name, EVENTS)
    text = rule_text(SPIKE + f"metric_agg_type: {kind}\n", name)
    # One query per 10-minute bucket (run_every = buffer_time): ElastAlert2 samples the
    # buckets Bitácora does, and alerts alike (OpenSearch aggregates in float32).
    theirs = daemon(opensearch_url, tmp_path, writeback, text, 180, 180, 10)
    assert theirs["errors"] == []
    assert [
        (
            m["query_key"],
            a["alert_time"][11:19],
            m["at"][11:19],
            round(m["match"]["spike_count"], 6),
            round(m["match"]["reference_count"], 6),
        )
        for a in theirs["alerts"]
        for m in a["matches"]
    ] == [("h1", *expected)]
    rule = read_rule_text(text).rule
    alerts = run_rules_over(stored, [rule], parse_timestamp(at(180)), lateness_s=0)
    shown: list[Any] = [
        (
            a.key,
            a.last_event_time[11:19],
            a.first_event_time[11:19],
            round(a.extra["spike_count"], 6),
            round(a.extra["reference_count"], 6),
        )
        for a in alerts
    ]
    assert shown == [("h1", *expected)]


ERRORS = {
    "avg": "TypeError: unsupported operand type(s) for +=: 'int' and 'NoneType'",
    "max": "TypeError: '>' not supported between instances of 'NoneType' and 'NoneType'",
    "min": "TypeError: '<' not supported between instances of 'NoneType' and 'NoneType'",
}


@pytest.mark.parametrize(("kind", "expected"), CASES)
def test_a_period_without_events_crashes_elastalert2_not_bitacora(
    index: tuple[OpenSearch, str],
    opensearch_url: str,
    tmp_path: Path,
    writeback: str,
    kind: str,
    expected: tuple[str, str, float, float],
) -> None:
    """Without ``query_key`` an empty query period gives ElastAlert2 a None metric value,
    which its spike windows cannot compare or add: every later run fails the same way and
    the rule never alerts. Bitácora skips a bucket without events."""
    client, name = index
    stored = store(client, name, EVENTS[30:])  # nothing in the first half hour
    text = rule_text(SPIKE.replace("query_key: host\n", "") + f"metric_agg_type: {kind}\n", name)
    theirs = daemon(opensearch_url, tmp_path, writeback, text, 180, 180, 10)
    assert (theirs["alerts"], set(theirs["errors"])) == ([], {ERRORS[kind]})
    rule = read_rule_text(text).rule
    alerts = run_rules_over(stored, [rule], parse_timestamp(at(180)), lateness_s=0)
    shown = [
        (
            a.key,
            a.last_event_time[11:19],
            a.first_event_time[11:19],
            round(a.extra["spike_count"], 6),
            round(a.extra["reference_count"], 6),
        )
        for a in alerts
    ]
    assert shown == [("all", *expected)]  # the buckets of 08:00-08:30 are simply absent


def test_a_shorter_run_every_samples_a_sliding_window(
    index: tuple[OpenSearch, str], opensearch_url: str, tmp_path: Path, writeback: str
) -> None:
    """A difference by design (docs/elastalert2.md): ElastAlert2's daemon queries
    (now - buffer_time, now] every run_every; run every minute, its samples are 10-minute
    windows sliding by a minute, not Bitácora's buckets, and its values differ."""
    client, name = index
    stored = store(client, name, EVENTS)
    text = rule_text(SPIKE + "metric_agg_type: avg\n", name)
    theirs = daemon(opensearch_url, tmp_path, writeback, text, 180, 180, 1)
    shown = [
        (a["alert_time"][11:19], round(m["match"]["spike_count"], 6))
        for a in theirs["alerts"]
        for m in a["matches"]
    ]
    # The spike is seen at the same run, but averaged over overlapping windows.
    assert (shown, theirs["errors"]) == ([("10:20:00", 0.508333)], [])
    rule = read_rule_text(text).rule
    alerts = run_rules_over(stored, [rule], parse_timestamp(at(180)), lateness_s=0)
    assert [(a.last_event_time[11:19], round(a.extra["spike_count"], 6)) for a in alerts] == [
        ("10:20:00", 0.583333)
    ]
