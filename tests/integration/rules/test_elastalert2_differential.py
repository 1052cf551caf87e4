"""Differential: ElastAlert2 2.19 and Bitácora run the same rule files over the same events.

The events are stored in a fresh index of the real OpenSearch; ElastAlert2 queries it
(``elastalert-test-rule --start --end``, from ``.venv-elastalert2`` built by
``scripts/elastalert2-venv``); Bitácora reads the same documents back and replays them
(``rules.replay``). Both sides run with ``realert: 0`` so every match is an alert; the
alerts (rule, key, event time of the match), the number of matches and the number of
events the filter selects (ElastAlert2's ``hits``) must be equal.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from opensearchpy import OpenSearch

from bitacora.cli import main
from bitacora.durations import parse_timestamp
from bitacora.errors import RuleError
from bitacora.rules.filters import compile_filters
from bitacora.rules.loader import read_rule, read_rule_text
from bitacora.rules.notify.templates import render
from bitacora.rules.replay import run_rules_over
from tests.integration.rules.elastalert2_support import END, EXAMPLES, START, at, config, store

_ALERT = re.compile(r"^INFO:elastalert:Alert for (.+?)(?:, (.*))? at (\S+):$", re.M)
_FIELD = re.compile(r"^([\w.@]+): (.*)$", re.M)
_STATUS = re.compile(r"elastalert_status - \{.*'matches': (\d+), 'hits': (\d+)")


def _rule_text(source: str, name: str) -> str:
    data = yaml.safe_load(source)
    data.update(index=name, realert={"minutes": 0}, alert=["debug"])
    return yaml.safe_dump(data)


def _elastalert2(binary: Path, rule: Path, config: Path) -> Outcome:
    done = subprocess.run(
        [str(binary), "--config", str(config), "--start", START, "--end", END, str(rule)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    alerts = []
    heads = list(_ALERT.finditer(output))
    for number, head in enumerate(heads):
        stop = heads[number + 1].start() if number + 1 < len(heads) else len(output)
        body = output[head.end() : stop]
        fields = dict(_FIELD.findall(body))
        at_ = head[3].replace("+00:00", "Z")
        alerts.append({"key": head[2] or "all", "at": at_, "body": body, **fields})
    matches = sum(int(m[0]) for m in _STATUS.findall(output))
    hits = sum(int(m[1]) for m in _STATUS.findall(output))
    return Outcome(alerts, matches, hits)


def _bitacora(text: str, events: list[dict[str, Any]]) -> Outcome:
    rule = read_rule_text(text).rule
    end = parse_timestamp(END + "Z")
    replayed = run_rules_over(events, [rule], end, lateness_s=0, apply_realert=False)
    # Resolve notices are Bitácora's own (ElastAlert2 has none): compare firing alerts.
    alerts = [a for a in replayed if a.status == "firing"]
    shown = [
        {
            "key": a.key,
            "at": a.event.get("@timestamp", a.last_event_time),
            "start": a.first_event_time.replace(".000Z", "Z"),
            "end": a.last_event_time.replace(".000Z", "Z"),
            **{name: str(value) for name, value in a.extra.items()},
        }
        for a in alerts
    ]
    selected = compile_filters(rule.filter).match
    return Outcome(shown, len(alerts), sum(1 for e in events if selected(e)))


@dataclass
class Outcome:
    """Alerts (key, match time and the match's fields as text), matches and hits."""

    alerts: list[dict[str, Any]]
    matches: int
    hits: int


def run_both(
    elastalert2: Path,
    index: tuple[OpenSearch, str],
    opensearch_url: str,
    tmp_path: Path,
    source: str,
    events: list[dict[str, Any]],
) -> tuple[Outcome, Outcome]:
    """ElastAlert2's and Bitácora's outcome of the rule ``source`` over ``events``."""
    client, name = index
    stored = store(client, name, events)
    text = _rule_text(source, name)
    path = tmp_path / "rule.yaml"
    path.write_text(text)
    theirs = _elastalert2(elastalert2, path, config(opensearch_url, tmp_path))
    return theirs, _bitacora(text, stored)


def compare(
    elastalert2: Path,
    index: tuple[OpenSearch, str],
    opensearch_url: str,
    tmp_path: Path,
    source: str,
    events: list[dict[str, Any]],
    when: str = "at",
    hits: bool = True,
) -> tuple[list[Any], int, int]:
    """Both sides' (key, match time) alerts, matches and hits: asserted equal.

    ``when`` names Bitácora's time that ElastAlert2's match time equals ("at": the
    alert's event, "start": its window's start); ``hits=False`` for types whose
    ElastAlert2 query holds more than the filter (blacklist/whitelist push the list).
    """
    theirs, ours = run_both(elastalert2, index, opensearch_url, tmp_path, source, events)
    mine = sorted((a["key"], a[when]) for a in ours.alerts), ours.matches, ours.hits
    other = sorted((a["key"], a["at"]) for a in theirs.alerts), theirs.matches, theirs.hits
    if not hits:
        mine, other = (*mine[:2], 0), (*other[:2], 0)
    assert mine == other
    return mine


def test_frequency_with_list_query_key(
    elastalert2: Path, index: Any, opensearch_url: str, tmp_path: Path
) -> None:
    source = (EXAMPLES / "ssh.yaml").read_text()
    events = [
        {
            "@timestamp": at(i + 1),
            "event.type": "authentication_failure",
            "source.ip": ip,
            "host.hostname": "web1",
            "user.name": "root",
        }
        for i in range(45)
        for ip in (["10.0.0.1"] if i % 3 else ["10.0.0.1", "10.0.0.2"])
    ]
    alerts, matches, hits = compare(elastalert2, index, opensearch_url, tmp_path, source, events)
    # num_events 20 in 60 min: 45 events of 10.0.0.1 match twice, 15 of 10.0.0.2 never.
    assert (matches, hits) == (2, 60)
    assert alerts == [("10.0.0.1", at(20)), ("10.0.0.1", at(40))]


def test_any_with_query_string_or(
    elastalert2: Path, index: Any, opensearch_url: str, tmp_path: Path
) -> None:
    source = (EXAMPLES / "exemple_discord_any.yaml").read_text()
    events = [{"@timestamp": at(i + 1), "id": i * 1000 + 501, "computer": "pc"} for i in range(7)]
    alerts, matches, hits = compare(elastalert2, index, opensearch_url, tmp_path, source, events)
    assert (alerts, matches, hits) == ([("all", at(3))], 1, 1)  # id 2501; no 5503


def test_change_of_country(
    elastalert2: Path, index: Any, opensearch_url: str, tmp_path: Path
) -> None:
    source = (EXAMPLES / "example_change.yaml").read_text()
    countries = ["USA", "USA", "Spain", "Spain", "", "Chile"]
    events = [
        {
            "@timestamp": at(i * 10 + 1),
            "document_type": "login",
            "username": "bob",
            "country_name": c,
        }
        for i, c in enumerate(countries)
    ]
    alerts, matches, hits = compare(elastalert2, index, opensearch_url, tmp_path, source, events)
    # USA -> Spain, then "" is skipped (ignore_null) and Spain -> Chile.
    assert (alerts, matches, hits) == ([("bob", at(21)), ("bob", at(51))], 2, 6)


def test_percentage_match_per_bucket(
    elastalert2: Path, index: Any, opensearch_url: str, tmp_path: Path
) -> None:
    source = (EXAMPLES / "example_percentage_match.yaml").read_text()
    events = []
    for minute in range(1, 20):
        status = 200 if minute % 4 else 500  # one error in every four minutes
        events.append(
            {
                "@timestamp": at(minute + 0.5),
                "_type": "http_request",
                "Hostname.keyword": "a",
                "ResponseStatus": status,
            }
        )
    theirs, ours = run_both(elastalert2, index, opensearch_url, tmp_path, source, events)
    # ElastAlert2 stamps a bucket's match with the bucket's end; Bitácora's alert ends there.
    shown = [(a["at"], a["percentage"], a["denominator"]) for a in theirs.alerts]
    assert shown == [(a["end"], a["percentage"], a["denominator"]) for a in ours.alerts]
    assert shown == [
        (at(5), "75.0", "4"),
        (at(10), "80.0", "5"),
        (at(15), "80.0", "5"),
        (at(20), "80.0", "5"),
    ]
    assert (ours.matches, ours.hits) == (theirs.matches, theirs.hits) == (4, 19)
    assert {a["key"] for a in ours.alerts} == {"a"}


BLACKLIST = """
name: bl
type: blacklist
compare_key: user
blacklist: [mallory, eve]
"""
WHITELIST = """
name: wl
type: whitelist
compare_key: user
whitelist: [alice, bob]
ignore_null: true
"""
CARDINALITY = """
name: card
type: cardinality
cardinality_field: user
max_cardinality: 2
timeframe: {minutes: 10}
query_key: host
"""


@pytest.mark.parametrize(
    ("source", "expected", "hits"),
    [(BLACKLIST, 3, False), (WHITELIST, 5, False), (CARDINALITY, 6, True)],
    ids=["blacklist", "whitelist", "cardinality"],
)
def test_lists_and_cardinality(
    elastalert2: Path,
    index: Any,
    opensearch_url: str,
    tmp_path: Path,
    source: str,
    expected: int,
    hits: bool,
) -> None:
    users = ["alice", "bob", "eve", "alice", "carol", "mallory", "bob", "eve", "dan", "alice"]
    events = [
        {"@timestamp": at(2 * i + 1), "user": user, "host": "h1" if i % 2 else "h2"}
        for i, user in enumerate(users)
    ]
    events.append({"@timestamp": at(30), "host": "h1"})  # no user: whitelist ignores it
    _, matches, _ = compare(elastalert2, index, opensearch_url, tmp_path, source, events, hits=hits)
    assert matches == expected


def test_metric_aggregation_buckets(
    elastalert2: Path, index: Any, opensearch_url: str, tmp_path: Path
) -> None:
    source = (EXAMPLES / "example_single_metric_agg.yaml").read_text()
    events = []
    for minute in range(1, 59):
        for host, value in (("h1", 0.5 if minute < 30 else 0.9), ("h2", 0.05)):
            events.append(
                {
                    "@timestamp": at(minute + 0.5),
                    "metricset.name": "cpu",
                    "beat.hostname": host,
                    "system.cpu.user.pct": value,
                }
            )
    theirs, ours = run_both(elastalert2, index, opensearch_url, tmp_path, source, events)
    value = "metric_system.cpu.user.pct_avg"
    # ElastAlert2 stamps a bucket's match with the bucket's start; OpenSearch averages the
    # float-mapped values in float32, Bitácora in float64: equal to 6 places.
    shown = sorted((a["at"], round(float(a[value]), 6)) for a in theirs.alerts)
    assert shown == sorted((a["start"], round(float(a[value]), 6)) for a in ours.alerts)
    assert (ours.matches, ours.hits) == (theirs.matches, theirs.hits)
    assert len(shown) == 18  # h2 (0.05 < 0.1) in all 12 buckets; h1 (0.9 > 0.8) in 6


def test_spike_up(elastalert2: Path, index: Any, opensearch_url: str, tmp_path: Path) -> None:
    source = """
name: spiky
type: spike
timeframe: {minutes: 20}
spike_height: 3
spike_type: up
threshold_cur: 3
"""
    events = [{"@timestamp": at(minute + 0.5), "m": 1} for minute in range(0, 60, 10)]
    events += [{"@timestamp": at(60 + minute + 0.5), "m": 1} for minute in range(0, 20, 2)]
    # ElastAlert2's match document is the first event of the current window: Bitácora's
    # alert starts there (its document is the event that completed the spike).
    alerts, _, _ = compare(
        elastalert2, index, opensearch_url, tmp_path, source, events, when="start"
    )
    assert alerts == [("all", at(50.5))]


def test_the_example_elastalert2_refuses_is_refused_by_both(
    elastalert2: Path, tmp_path: Path, opensearch_url: str
) -> None:
    path = EXAMPLES / "example_thehive_frequency.yaml"
    done = subprocess.run(
        [
            str(elastalert2),
            "--config",
            str(config(opensearch_url, tmp_path)),
            "--schema-only",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "is not valid under any of the given schemas" in done.stdout + done.stderr
    with pytest.raises(RuleError, match="rule type 'frequency' needs option 'timeframe'"):
        read_rule(path)


NEW_TERM_LOGINS = [
    (1, "10.0.0.1"),
    (5, "10.0.0.1"),
    (10, "10.0.0.2"),
    (30, "10.0.0.3"),
    (40, "10.0.0.1"),
    (50, "10.0.0.4"),
]


@pytest.mark.parametrize("warmup", [None, 0], ids=["default-warmup", "no-warmup"])
def test_new_term_differs_only_by_the_warmup(
    elastalert2: Path, index: Any, opensearch_url: str, tmp_path: Path, warmup: int | None
) -> None:
    data = yaml.safe_load((EXAMPLES / "example_new_term.yaml").read_text())
    if warmup is not None:
        data["warmup"] = warmup  # ElastAlert2 does not know it: dropped there with a warning
    events = [
        {
            "@timestamp": at(minute + 0.5),
            "_type": "login_event",
            "username": "admin",
            "ip_address": ip,
        }
        for minute, ip in NEW_TERM_LOGINS
    ]
    theirs, ours = run_both(
        elastalert2, index, opensearch_url, tmp_path, yaml.safe_dump(data), events
    )
    # No history before the range: ElastAlert2's seeding query finds no term, so every
    # first sight is new. Bitácora learns for `warmup` (15 min) after the first event.
    assert [a["at"] for a in theirs.alerts] == [at(1.5), at(10.5), at(30.5), at(50.5)]
    learned = 2 if warmup is None else 0
    assert [a["at"] for a in ours.alerts] == [a["at"] for a in theirs.alerts][learned:]


def test_spike_aggregation_of_sums(
    elastalert2: Path, index: Any, opensearch_url: str, tmp_path: Path
) -> None:
    # avg/min/max: test_elastalert2_spike_aggregation.py (ElastAlert2's daemon loop).
    source = """
name: cpu spike
type: spike_aggregation
timeframe: {minutes: 30}
buffer_time: {minutes: 10}
metric_agg_key: cpu
metric_agg_type: sum
query_key: host
spike_height: 2
spike_type: up
"""
    events = [
        {"@timestamp": at(minute + 0.5), "host": "h1", "cpu": 0.2 if minute < 120 else 0.7}
        for minute in range(180)
    ]
    theirs, ours = run_both(elastalert2, index, opensearch_url, tmp_path, source, events)

    def shown(alerts: list[dict[str, Any]], when: str) -> list[Any]:
        return [
            (
                a["key"],
                a[when],
                round(float(a["spike_count"]), 6),
                round(float(a["reference_count"]), 6),
            )
            for a in alerts
        ]

    # The current window's first sample: ElastAlert2's match time, Bitácora's start.
    assert shown(theirs.alerts, "at") == shown(ours.alerts, "start")
    assert shown(ours.alerts, "start") == [("h1", at(120), 16.0, 6.0)]


def test_rules_test_cli_reads_the_rule_index_like_elastalert2(
    elastalert2: Path,
    index: Any,
    opensearch_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`bitacora rules test --start --end` reads the rule's `index` and alerts as ElastAlert2."""
    source = (EXAMPLES / "ssh.yaml").read_text()
    events = [
        {"@timestamp": at(i + 1), "event.type": "authentication_failure", "source.ip": ip}
        for i in range(45)
        for ip in (["10.0.0.1"] if i % 3 else ["10.0.0.1", "10.0.0.2"])
    ]
    theirs, _ = run_both(elastalert2, index, opensearch_url, tmp_path, source, events)
    monkeypatch.setenv("BITACORA_OPENSEARCH_URL", opensearch_url)
    result = CliRunner().invoke(
        main,
        [
            "rules",
            "test",
            str(tmp_path / "rule.yaml"),
            "--start",
            START,
            "--end",
            END,
            "--no-realert",
            "-o",
            "jsonl",
        ],
    )
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    firing = [(a["key"], a["event"]["@timestamp"]) for a in alerts if a["status"] == "firing"]
    assert firing == [(a["key"], a["at"]) for a in theirs.alerts]
    assert result.stderr.splitlines()[-1] == f"{len(alerts)} alert(s) from 60 event(s)"


def test_rules_test_seeds_new_term_from_history_like_elastalert2(
    elastalert2: Path,
    index: Any,
    opensearch_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the history is read from differs by design (docs/elastalert2.md).

    elastalert-test-rule seeds new_term's known terms from terms_window_size ending *now*
    (the rule is loaded before --start applies), so over a past range every term of the
    range is already known and nothing alerts; `bitacora rules test` seeds from the
    window before --start: what the rule would have said at the time.
    """
    # The index maps strings as keyword: ElastAlert2 must not query "<field>.keyword".
    source = (EXAMPLES / "example_new_term.yaml").read_text() + "use_keyword_postfix: false\n"
    login = {"_type": "login_event", "username": "admin"}
    events = [
        {"@timestamp": "2026-11-14T08:00:00Z", "ip_address": "10.0.0.1", **login},
        *(
            {"@timestamp": at(minute + 0.5), "ip_address": ip, **login}
            for minute, ip in NEW_TERM_LOGINS
        ),
    ]
    theirs, _ = run_both(elastalert2, index, opensearch_url, tmp_path, source, events)
    monkeypatch.setenv("BITACORA_OPENSEARCH_URL", opensearch_url)
    result = CliRunner().invoke(
        main,
        [
            "rules",
            "test",
            str(tmp_path / "rule.yaml"),
            "--start",
            START,
            "--end",
            END,
            "--no-realert",
            "-o",
            "jsonl",
        ],
    )
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert (theirs.alerts, theirs.hits) == ([], 6)
    # 10.0.0.1 was seen the day before the start: known; the others are new when first seen.
    assert [(a["event"]["@timestamp"], a["extra"]["new_value"]) for a in alerts] == [
        (at(10.5), "10.0.0.2"),
        (at(30.5), "10.0.0.3"),
        (at(50.5), "10.0.0.4"),
    ]


def test_top_count_keys(elastalert2: Path, index: Any, opensearch_url: str, tmp_path: Path) -> None:
    source = """
name: top
type: frequency
num_events: 3
timeframe: {minutes: 10}
query_key: host
top_count_keys: [user]
raw_count_keys: false
filter: [{term: {level: error}}]
"""
    users = ["bob", "eve", "bob", "ann", "bob", "eve", "bob"]
    events = [
        {"@timestamp": at(2 * i + 1.5), "level": "error", "host": "h1", "user": user}
        for i, user in enumerate(users)
    ]
    events += [
        {"@timestamp": at(2 * i + 1.5), "level": "error", "host": "h2", "user": "zed"}
        for i in range(2)
    ]
    theirs, ours = run_both(elastalert2, index, opensearch_url, tmp_path, source, events)
    # ElastAlert2 writes the counts into the alert text: "user:" then "value: count" lines.
    tables = [
        dict(re.findall(r"^(\w+): (\d+)$", a["body"].split("\nuser:\n", 1)[1].split("@")[0], re.M))
        for a in theirs.alerts
    ]
    counted = [{name: int(count) for name, count in table.items()} for table in tables]
    assert counted == [
        {"bob": 4, "eve": 2, "ann": 1},  # (07:55:30, 08:15:30]
        {"bob": 3, "eve": 2, "ann": 1},  # (08:01:30, 08:21:30]: the first bob is out
    ]
    assert [eval_top(a) for a in ours.alerts] == counted


def eval_top(alert: dict[str, Any]) -> dict[str, int]:
    """Bitácora's ``top_events_user`` (the outcome holds extras as text)."""
    return {str(k): int(v) for k, v in ast.literal_eval(alert["top_events_user"]).items()}


@pytest.mark.parametrize(
    "texts",
    [
        "alert_text: 'User {who} on {host} ({missing})'\n"
        "alert_text_kw: {user: who, host: host, nothere: missing}\n",
        "alert_text: 'User {} on {} ({})'\nalert_text_args: [user, host, nothere]\n",
    ],
    ids=["alert_text_kw", "alert_text_args"],
)
def test_alert_text_with_missing_values(
    elastalert2: Path, index: Any, opensearch_url: str, tmp_path: Path, texts: str
) -> None:
    source = (
        "name: texts\ntype: any\nfilter: [{term: {level: error}}]\n"
        "alert_text_type: alert_text_only\nalert_missing_value: '<none>'\n" + texts
    )
    events = [{"@timestamp": at(1.5), "level": "error", "user": "bob", "host": "h1"}]
    theirs, _ = run_both(elastalert2, index, opensearch_url, tmp_path, source, events)
    # The debug alerter logs the alert text on the line after "Alert for …".
    [alert] = theirs.alerts
    their_text = alert["body"].split("INFO:elastalert:", 1)[1].strip()
    rule = read_rule_text(source).rule
    [ours] = run_rules_over(events, [rule], lateness_s=0)
    assert render(ours, rule).body == their_text == "User bob on h1 (<none>)"
