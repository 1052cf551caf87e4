"""What the ElastAlert2 differential suites share: paths, times, storing events, configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from opensearchpy import OpenSearch, helpers

ROOT = Path(__file__).parents[3]
EXAMPLES = ROOT / "tests" / "data" / "elastalert2" / "examples"
VENV = ROOT / ".venv-elastalert2"
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
    opensearch_url: str, tmp: Path, writeback: str = "bitacora-test-ea2diff-writeback"
) -> Path:
    """ElastAlert2's global config: the real OpenSearch, ``run_every`` 1 min, buffer 15 min."""
    url = urlparse(opensearch_url)
    path = tmp / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "rules_folder": str(tmp),
                "run_every": {"minutes": 1},
                "buffer_time": {"minutes": 15},
                "es_host": url.hostname,
                "es_port": url.port,
                "writeback_index": writeback,
                "alert_time_limit": {"days": 2},
            }
        )
    )
    return path
