"""``bitacora rules validate|test --data`` (no services needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from bitacora.cli import main
from tests.unit.rules.util import ev

RULE = """\
name: cli-burst
type: frequency
num_events: 3
timeframe: 1m
query_key: service.name
realert: 10m
filter:
  - term: {log.level: error}
"""


def test_validate_shipped_rules() -> None:
    result = CliRunner().invoke(main, ["rules", "validate"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "12 rule(s) valid"


def test_validate_reports_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(RULE + "num_event: 3\n")
    result = CliRunner().invoke(main, ["rules", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{tmp_path / 'bad.yaml'}:9: unknown key 'num_event' (did you mean 'num_events'?)"
    )


def test_rules_test_with_a_jsonl_file(tmp_path: Path) -> None:
    rule = tmp_path / "r.yaml"
    rule.write_text(RULE)
    data = tmp_path / "events.jsonl"
    events = [ev(i) for i in range(7)] + [ev(8, log__level="info")]
    data.write_text("\n".join(json.dumps(e) for e in events) + "\n\n")
    result = CliRunner().invoke(main, ["rules", "test", str(rule), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2027-01-15T08:00:02.000Z  firing   cli-burst  key=user-service  count=3  "
        "first=2027-01-15T08:00:00.000Z",
        "1 alert(s) from 8 event(s)",
    ]
    every = CliRunner().invoke(
        main, ["rules", "test", str(rule), "--data", str(data), "--no-realert", "-o", "jsonl"]
    )
    lines = [json.loads(line) for line in every.stdout.splitlines()]
    assert [(a["status"], a["count"], a["last_event_time"]) for a in lines] == [
        ("firing", 3, "2027-01-15T08:00:02.000Z"),
        ("firing", 3, "2027-01-15T08:00:05.000Z"),
    ]


def test_rules_test_unknown_rule_name() -> None:
    result = CliRunner().invoke(main, ["rules", "test", "no-such-rule", "--data", __file__])
    assert result.exit_code == 2
    assert "no rule named 'no-such-rule'" in result.stderr


def test_search_filter_pushes_down_only_what_opensearch_matches_the_same_way() -> None:
    from bitacora.rules.fields import search_filter

    clauses: list[dict[str, Any]] = [
        {"query": {"query_string": {"query": "log.level:error"}}},
        {"type": {"value": "doc"}},
        {"term": {"message": "Exact text"}},
        {"terms": {"service.name": ["a", "b"]}},
    ]
    assert search_filter(clauses) == [
        {"query_string": {"query": "log.level:error"}},
        {"terms": {"service.name": ["a", "b"]}},
    ]


def test_a_replay_fetches_the_recovery_events_of_a_resolve_filter_too() -> None:
    from bitacora.search.replay import fetched_clauses

    failed = [{"term": {"service.name": "health-check"}}, {"term": {"message": "x"}}]
    ok = [{"term": {"labels.check.status": "ok"}}]
    assert fetched_clauses(failed, None) is failed
    assert fetched_clauses(failed, ok) == [
        {
            "bool": {
                "should": [
                    {"bool": {"filter": [{"term": {"service.name": "health-check"}}]}},
                    {"bool": {"filter": ok}},
                ],
                "minimum_should_match": 1,
            }
        }
    ]
