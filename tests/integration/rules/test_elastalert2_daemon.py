"""Differential against ElastAlert2's own daemon loop: aggregation, realert, flatline.

``elastalert-test-rule`` mocks ElastAlert2's writeback index, so its aggregation groups
never form there. Here ElastAlert2 2.19 runs as its daemon does
(``elastalert2_daemon.py`` under ``.venv-elastalert2``): writeback indices in the real
OpenSearch, one query every ``run_every`` (1 min) on a simulated clock, pending groups
sent when their time has come. Bitácora replays the same stored events
(``rules.replay``, as ``bitacora rules test`` does). Events sit mid-minute, so no event
falls on a run's edge; where the two differ by design, the test says so and asserts both.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from bitacora.durations import parse_timestamp
from bitacora.rules.aggregation import aggregation_key
from bitacora.rules.alerts import Alert
from bitacora.rules.loader import read_rule_text
from bitacora.rules.replay import run_rules_over
from tests.integration.rules.elastalert2_support import at, daemon, rule_text, store

_ROW = re.compile(r"^\|(.*)\|$", re.M)


def bitacora(text: str, events: list[dict[str, Any]], end: float) -> list[Alert]:
    """Bitácora's firing alerts for the same events, replayed up to ``at(end)``."""
    rule = read_rule_text(text).rule
    final = parse_timestamp(at(end))
    alerts = run_rules_over(events, [rule], final, lateness_s=0)
    return [alert for alert in alerts if alert.status == "firing"]


def summary_rows(text: str) -> list[list[str]]:
    """The rows of ElastAlert2's ascii summary table (header left out)."""
    rows = [[cell.strip() for cell in row.split("|")] for row in _ROW.findall(text)]
    return rows[1:]


def their_groups(outcome: dict[str, Any]) -> list[tuple[str, str, int, list[list[str]]]]:
    """ElastAlert2's alerts: (aggregation key, first match time, matches, summary rows)."""
    return [
        (
            alert["matches"][0]["aggregation_key"],
            alert["matches"][0]["at"],
            len(alert["matches"]),
            summary_rows(alert["summary"]),
        )
        for alert in outcome["alerts"]
    ]


def our_groups(alerts: list[Alert], text: str) -> list[tuple[str, str, int, list[list[str]]]]:
    """Bitácora's aggregated alerts in the same shape (cells as ElastAlert2 prints them)."""
    rule = read_rule_text(text).rule
    return [
        (
            aggregation_key(alert, rule),
            alert.event["@timestamp"],
            int(alert.extra["num_matches"]),
            [[str(cell) for cell in row] for row in alert.extra.get("summary_table", [])],
        )
        for alert in alerts
    ]


AGGREGATION = """
name: grouped
type: any
filter: [{term: {level: error}}]
aggregation: {minutes: 10}
aggregation_key: service
summary_table_fields: [service, host]
"""
# (minute, service, host): api's first group has h2 first, then h1 three times.
GROUPED_EVENTS = [
    (1.5, "api", "h2"),
    (2.5, "db", "h9"),
    (3.5, "api", "h1"),
    (4.5, "api", "h1"),
    (9.5, "api", "h1"),
    (14.5, "api", "h3"),
    (16.5, "api", "h3"),
    (30.5, "db", "h9"),
]


def _grouped_events() -> list[dict[str, Any]]:
    events = [
        {"@timestamp": at(m), "level": "error", "service": s, "host": h}
        for m, s, h in GROUPED_EVENTS
    ]
    events.append({"@timestamp": at(5.5), "level": "info", "service": "api", "host": "h1"})
    return events


def test_aggregation_groups_per_aggregation_key_with_summary_table(
    index: tuple[OpenSearch, str], opensearch_url: str, tmp_path: Path, writeback: str
) -> None:
    client, name = index
    stored = store(client, name, _grouped_events())
    text = rule_text(AGGREGATION, name)
    theirs = daemon(opensearch_url, tmp_path, writeback, text, 40, 60)
    ours = bitacora(text, stored, 60)
    assert theirs["errors"] == []
    # A group closes 10 minutes after its first match; rows in first-seen order.
    expected = [
        ("api", at(1.5), 4, [["api", "h2", "1"], ["api", "h1", "3"]]),
        ("db", at(2.5), 1, [["db", "h9", "1"]]),
        ("api", at(14.5), 2, [["api", "h3", "2"]]),
        ("db", at(30.5), 1, [["db", "h9", "1"]]),
    ]
    assert their_groups(theirs) == our_groups(ours, text) == expected
    # ElastAlert2 stamps a group with the run that found its first match (the next whole
    # minute) and sends it at the first run after that + aggregation.
    assert [a["alert_time"][11:16] for a in theirs["alerts"]] == [
        "08:13",
        "08:14",
        "08:26",
        "08:42",
    ]
    # Their num_hits/num_matches describe the run that found a match: the filter's events
    # in its (now - buffer_time, now] window and the matches of that run. Bitácora has no
    # runs: a group counts its matches (extra.num_matches, above).
    firsts = [alert["matches"][0] for alert in theirs["alerts"]]
    assert [(m["num_hits"], m["num_matches"]) for m in firsts] == [(1, 1), (2, 1), (6, 1), (2, 1)]


def test_aggregate_by_match_time_joins_on_event_time_where_elastalert2_uses_its_clock(
    index: tuple[OpenSearch, str], opensearch_url: str, tmp_path: Path, writeback: str
) -> None:
    """A difference by design (docs/elastalert2.md): with ``aggregate_by_match_time`` a
    group closes ``aggregation`` after its first match's event time on both sides, but
    ElastAlert2 decides whether a later match still joins by comparing that end with its
    run's clock (when it found the match); Bitácora compares the match's event time."""
    client, name = index
    minutes = [1.5, 5.5, 11.2, 13.5, 30.5]
    events = [{"@timestamp": at(m), "level": "error", "service": "api"} for m in minutes]
    stored = store(client, name, events)
    text = rule_text(AGGREGATION + "aggregate_by_match_time: true\n", name)
    theirs = daemon(opensearch_url, tmp_path, writeback, text, 40, 60)
    ours = bitacora(text, stored, 60)
    # The group of 08:01:30 ends at 08:11:30. The match of 08:11:12 is found by the run
    # of 08:12: after that end for ElastAlert2 (a new group), before it for Bitácora.
    api = [["api", "None", "2"]]
    assert their_groups(theirs) == [
        ("api", at(1.5), 2, api),
        ("api", at(11.2), 2, api),
        ("api", at(30.5), 1, [["api", "None", "1"]]),
    ]
    assert our_groups(ours, text) == [
        ("api", at(1.5), 3, [["api", "None", "3"]]),
        ("api", at(13.5), 1, [["api", "None", "1"]]),
        ("api", at(30.5), 1, [["api", "None", "1"]]),
    ]
    # ElastAlert2 sends a group at its first run past the first match's time + 10 min.
    assert [a["alert_time"][11:16] for a in theirs["alerts"]] == ["08:12", "08:22", "08:41"]


REALERTED = """
name: realerted
type: any
filter: [{term: {level: error}}]
query_key: host
realert: {minutes: 5}
aggregation: {minutes: 10}
aggregation_key: service
summary_table_fields: [host]
"""


def test_realert_per_query_key_before_aggregation_per_aggregation_key(
    index: tuple[OpenSearch, str], opensearch_url: str, tmp_path: Path, writeback: str
) -> None:
    """Realert is judged per ``query_key`` (host) before a match joins its group
    (``aggregation_key``, service): a host's second error within 5 minutes joins no group,
    whichever service it comes from."""
    client, name = index
    rows = [
        (1.5, "api", "h1"),
        (2.5, "api", "h1"),  # h1 realerting until 08:06:30: dropped
        (3.5, "api", "h2"),
        (7.5, "api", "h1"),  # h1's period is over: joins api's group
        (8.5, "db", "h1"),  # h1 realerting again (until 08:12:30): db gets nothing
        (9.5, "db", "h3"),
        (13.5, "db", "h1"),  # h1 free again: db's group
    ]
    events = [{"@timestamp": at(m), "level": "error", "service": s, "host": h} for m, s, h in rows]
    stored = store(client, name, events)
    text = rule_text(REALERTED, name)
    theirs = daemon(opensearch_url, tmp_path, writeback, text, 40, 60)
    ours = bitacora(text, stored, 60)
    expected = [
        ("api", at(1.5), 3, [["h1", "2"], ["h2", "1"]]),
        ("db", at(9.5), 2, [["h3", "1"], ["h1", "1"]]),
    ]
    assert their_groups(theirs) == our_groups(ours, text) == expected


FLATLINE = """
name: quiet
type: flatline
threshold: 3
timeframe: {minutes: 10}
filter: [{term: {level: error}}]
"""
# h1 logs an error every minute for 20 minutes, is silent for 20, then logs 10 more.
H1 = [m + 0.5 for m in range(20)] + [m + 0.5 for m in range(40, 50)]
# The first whole minute after a time (ElastAlert2's run that sees it), as HH:MM.
TEN_MIN = "realert: {minutes: 10}\n"


def _minute_after(stamp: str) -> str:
    hour, minute, second = (int(part) for part in stamp[11:19].split(":"))
    minute += 1 if second else 0
    return f"{hour + minute // 60:02d}:{minute % 60:02d}"


@pytest.mark.parametrize(
    ("options", "errors", "theirs_expected", "ours_times"),
    [
        # Without query_key: one key, "all"; realert = timeframe.
        (
            TEN_MIN,
            H1,
            [("08:28", "all", 2), ("08:38", "all", 0), ("08:58", "all", 2)],
            ["08:27:30", "08:37:30", "08:57:30"],
        ),
        # Per host: h3 never stops, so only h1 alerts.
        (
            TEN_MIN + "query_key: host\n",
            H1,
            [("08:28", "h1", 2), ("08:38", "h1", 0), ("08:58", "h1", 2)],
            ["08:27:30", "08:37:30", "08:57:30"],
        ),
        # forget_keys: a key that matched is dropped until it shows up again.
        (
            "query_key: host\nforget_keys: true\n",
            H1,
            [("08:28", "h1", 2), ("08:58", "h1", 2)],
            ["08:27:30", "08:57:30"],
        ),
    ],
    ids=["no-query-key", "query-key", "forget-keys"],
)
def test_flatline_alerts_once_per_silence_and_timeframe(
    index: tuple[OpenSearch, str],
    opensearch_url: str,
    tmp_path: Path,
    writeback: str,
    options: str,
    errors: list[float],
    theirs_expected: list[tuple[str, str, int]],
    ours_times: list[str],
) -> None:
    client, name = index
    events = [{"@timestamp": at(m), "level": "error", "host": "h1"} for m in errors]
    if "query_key" in options:
        events += [{"@timestamp": at(m + 0.5), "level": "error", "host": "h3"} for m in range(60)]
    # Events outside the filter: time passes for Bitácora's replay as on the stream.
    events += [{"@timestamp": at(m + 0.5), "level": "info", "host": "h2"} for m in range(0, 60, 7)]
    stored = store(client, name, events)
    text = rule_text(FLATLINE + options, name)
    theirs = daemon(opensearch_url, tmp_path, writeback, text, 60, 60)
    ours = bitacora(text, stored, 60)
    shown = [
        (a["alert_time"][11:16], a["matches"][0]["match"]["key"], a["matches"][0]["match"]["count"])
        for a in theirs["alerts"]
    ]
    assert shown == theirs_expected
    # Bitácora judges every tick (here every 10 s of event time; on the stream every
    # second) and matches as soon as the window is too quiet; ElastAlert2 at its next run.
    mine = [(_minute_after(a.last_event_time), a.key, a.count) for a in ours]
    assert mine == shown
    assert [a.last_event_time[11:19] for a in ours] == ours_times
    assert [a.extra for a in ours] == [{"key": key, "count": n} for _, key, n in shown]


def test_flatline_differences_by_design(
    index: tuple[OpenSearch, str], opensearch_url: str, tmp_path: Path, writeback: str
) -> None:
    """Two differences (docs/elastalert2.md). With ``realert: 0`` ElastAlert2 matches on
    every run while a key is below threshold (twice in a run whose query held events),
    Bitácora once per timeframe. And ElastAlert2 watches the rule's single key from its
    first run, so a rule whose filter never matched alerts; Bitácora watches a key from
    its first event."""
    client, name = index
    events = [{"@timestamp": at(m), "level": "error", "host": "h1"} for m in H1]
    events += [{"@timestamp": at(m + 0.5), "level": "info", "host": "h2"} for m in range(0, 60, 7)]
    stored = store(client, name, events)
    text = rule_text(FLATLINE, name)
    theirs = daemon(opensearch_url, tmp_path, writeback, text, 60, 60)
    counts = [a["matches"][0]["match"]["count"] for a in theirs["alerts"]]
    # 08:28 to 08:40 every minute, twice at 08:41 and 08:42, then 08:58 to 09:00.
    assert counts == [2, 1, *[0] * 11, 1, 1, 2, 2, 2, 1, 0]
    assert [(a.last_event_time[11:19], a.count) for a in bitacora(text, stored, 60)] == [
        ("08:27:30", 2),
        ("08:37:30", 0),
        ("08:57:30", 2),
    ]
    never = rule_text(FLATLINE.replace("level: error", "level: fatal") + TEN_MIN, name)
    theirs = daemon(opensearch_url, tmp_path, writeback + "-never", never, 60, 60)
    assert [a["alert_time"][11:16] for a in theirs["alerts"]] == [
        "08:11",
        "08:21",
        "08:31",
        "08:41",
        "08:51",
    ]
    assert bitacora(never, stored, 60) == []
