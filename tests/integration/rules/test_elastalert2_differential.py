"""Differential: ElastAlert2 2.19 and Bitácora run the same rule files over the same events.

The events are stored in a fresh index of the real OpenSearch; ElastAlert2 queries it
(``elastalert-test-rule --start --end``, from ``.venv-elastalert2`` built by
``scripts/elastalert2-venv``); Bitácora reads the same documents back and replays them
(``rules.replay``). Both sides run with ``realert: 0`` so every match is an alert; the
alerts (rule, key, event time of the match), the number of matches and the number of
events the filter selects (ElastAlert2's ``hits``) must be equal.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from opensearchpy import OpenSearch, helpers

from bitacora.rules.filters import compile_filters
from bitacora.rules.loader import read_rule_text
from bitacora.rules.replay import run_rules_over

ROOT = Path(__file__).parents[3]
EXAMPLES = ROOT / "tests" / "data" / "elastalert2" / "examples"
VENV = ROOT / ".venv-elastalert2"
START, END = "2026-11-15T08:00:00", "2026-11-15T12:00:00"  # past: ElastAlert2 refuses future
_ALERT = re.compile(r"^INFO:elastalert:Alert for (.+?)(?:, (.*))? at (\S+):$", re.M)
_STATUS = re.compile(r"elastalert_status - \{.*'matches': (\d+), 'hits': (\d+)")


@pytest.fixture(scope="module")
def elastalert2() -> Path:
    subprocess.run([str(ROOT / "scripts" / "elastalert2-venv")], check=True, timeout=1200)
    return VENV / "bin" / "elastalert-test-rule"


@pytest.fixture
def index(opensearch_url: str) -> Iterator[tuple[OpenSearch, str]]:
    client = OpenSearch(hosts=[opensearch_url], timeout=60)
    name = f"bitacora-test-ea2diff-{uuid.uuid4().hex[:10]}"
    client.indices.create(
        index=name,
        body={
            "mappings": {
                "dynamic_templates": [
                    {"text": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}
                ],
                "properties": {"@timestamp": {"type": "date"}, "message": {"type": "text"}},
            }
        },
    )
    yield client, name
    client.indices.delete(index=name)


def at(minute: float) -> str:
    """A time ``minute`` minutes after START (ElastAlert2 queries (start, end]: stay inside)."""
    hour, rest = 8 + int(minute // 60), minute % 60
    return f"2026-11-15T{hour:02d}:{int(rest):02d}:{round(rest * 60 % 60):02d}Z"


def _store(client: OpenSearch, name: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    helpers.bulk(client, ({"_index": name, "_source": e} for e in events), refresh="wait_for")
    hits = client.search(
        index=name,
        body={"size": 10000, "sort": [{"@timestamp": "asc"}], "query": {"match_all": {}}},
    )["hits"]["hits"]
    return [hit["_source"] for hit in hits]


def _rule_text(source: str, name: str) -> str:
    data = yaml.safe_load(source)
    data.update(index=name, realert={"minutes": 0}, alert=["debug"])
    return yaml.safe_dump(data)


def _elastalert2(
    binary: Path, rule: Path, opensearch_url: str, tmp: Path
) -> tuple[list[Any], int, int]:
    url = urlparse(opensearch_url)
    config = tmp / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "rules_folder": str(tmp),
                "run_every": {"minutes": 1},
                "buffer_time": {"minutes": 15},
                "es_host": url.hostname,
                "es_port": url.port,
                "writeback_index": "bitacora-test-ea2diff-writeback",
                "alert_time_limit": {"days": 2},
            }
        )
    )
    done = subprocess.run(
        [str(binary), "--config", str(config), "--start", START, "--end", END, str(rule)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    alerts = sorted((m[1] or "all", m[2].replace("+00:00", "Z")) for m in _ALERT.findall(output))
    matches = sum(int(m[0]) for m in _STATUS.findall(output))
    hits = sum(int(m[1]) for m in _STATUS.findall(output))
    return alerts, matches, hits


def _bitacora(text: str, events: list[dict[str, Any]]) -> tuple[list[Any], int, int]:
    rule = read_rule_text(text).rule
    alerts = run_rules_over(events, [rule], lateness_s=0, apply_realert=False)
    keys = sorted((a.key, a.event.get("@timestamp", a.last_event_time)) for a in alerts)
    selected = compile_filters(rule.filter).match
    return keys, len(alerts), sum(1 for e in events if selected(e))


def compare(
    elastalert2: Path,
    index: tuple[OpenSearch, str],
    opensearch_url: str,
    tmp_path: Path,
    source: str,
    events: list[dict[str, Any]],
) -> tuple[list[Any], int, int]:
    client, name = index
    stored = _store(client, name, events)
    text = _rule_text(source, name)
    path = tmp_path / "rule.yaml"
    path.write_text(text)
    theirs = _elastalert2(elastalert2, path, opensearch_url, tmp_path)
    ours = _bitacora(text, stored)
    assert ours == theirs
    return ours


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
