"""What the ElastAlert2 differential suites share: paths, times, storing events, configs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from opensearchpy import OpenSearch, helpers

ROOT = Path(__file__).parents[3]
EXAMPLES = ROOT / "tests" / "data" / "elastalert2" / "examples"
VENV = ROOT / ".venv-elastalert2"
DRIVER = Path(__file__).with_name("elastalert2_daemon.py")
START, END = "2026-11-15T08:00:00", "2026-11-15T12:00:00"  # past: ElastAlert2 refuses future


def at(minute: float) -> str:
    """A time ``minute`` minutes after START (ElastAlert2 queries (start, end]: stay inside)."""
    hour, rest = 8 + int(minute // 60), minute % 60
    return f"2026-11-15T{hour:02d}:{int(rest):02d}:{round(rest * 60 % 60):02d}Z"


def store(client: OpenSearch, name: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Index ``events`` and read them back in time order (what both sides see)."""
    helpers.bulk(client, ({"_index": name, "_source": e} for e in events), refresh="wait_for")
    hits = client.search(
        index=name,
        body={"size": 10000, "sort": [{"@timestamp": "asc"}], "query": {"match_all": {}}},
    )["hits"]["hits"]
    return [hit["_source"] for hit in hits]


def config(
    opensearch_url: str,
    tmp: Path,
    writeback: str = "bitacora-test-ea2diff-writeback",
    run_every_min: int = 1,
) -> Path:
    """ElastAlert2's global config: the real OpenSearch, ``run_every`` (1 min), buffer 15 min."""
    url = urlparse(opensearch_url)
    path = tmp / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "rules_folder": str(tmp),
                "run_every": {"minutes": run_every_min},
                "buffer_time": {"minutes": 15},
                "es_host": url.hostname,
                "es_port": url.port,
                "writeback_index": writeback,
                "alert_time_limit": {"days": 2},
            }
        )
    )
    return path


def daemon(
    opensearch_url: str,
    tmp_path: Path,
    writeback: str,
    text: str,
    end: float,
    drain: float,
    run_every_min: int = 1,
) -> dict[str, Any]:
    """ElastAlert2's outcome of the rule ``text`` run every ``run_every_min`` minutes from
    START to ``at(end)``, then pending alerts sent at that pace until ``at(drain)``."""
    subprocess.run([str(ROOT / "scripts" / "elastalert2-venv")], check=True, timeout=1200)
    rule = tmp_path / "rule.yaml"
    rule.write_text(text)
    done = subprocess.run(
        [
            str(VENV / "bin" / "python"),
            str(DRIVER),
            "--config",
            str(config(opensearch_url, tmp_path, writeback, run_every_min)),
            "--rule",
            str(rule),
            "--start",
            START + "Z",
            "--end",
            at(end),
            "--drain-until",
            at(drain),
            "--run-every",
            str(run_every_min * 60),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcome: dict[str, Any] = json.loads(done.stdout)
    return outcome


def rule_text(source: str, index: str) -> str:
    """The rule both sides run: ``source`` reading ``index``, alerting to the debug log."""
    data = yaml.safe_load(source)
    data.update(index=index, alert=["debug"])
    data.setdefault("realert", {"minutes": 0})
    return yaml.safe_dump(data)
