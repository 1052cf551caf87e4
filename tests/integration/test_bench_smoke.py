"""The benchmark harness still runs: ``python -m bench.run --smoke`` on the real stack.

Not a speed test: it asserts the JSON has every headline key with a finite number, so
benchmarks cannot go stale while the code they drive changes.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import NOT_IN_SMOKE, OWNS, SUMMARY

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = (
    "e2e_ratio_vs_raw_bulk",
    "collector_ratio_vs_bare_producer",
    "events_per_cpu_second",
    "collector_events_per_cpu_second",
    "ingest_to_searchable_p99_s",
    "alert_latency_p99_s",
    "alert_latency_p50_s",
    "rules50_cpu_cost",
    "rules50_throughput_cost",
)


@pytest.mark.stack
@pytest.mark.timeout(240)
def test_bench_smoke_writes_every_key(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "latest.json"
    env = {"BITACORA_KAFKA_BOOTSTRAP": kafka_bootstrap, "BITACORA_OPENSEARCH_URL": opensearch_url}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(out)],
        cwd=ROOT,
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    doc = json.loads(out.read_text())
    assert set(REQUIRED) <= set(SUMMARY)
    left_out = {row for name in NOT_IN_SMOKE for row in OWNS[name]}
    smoke_keys = [key for key, row in SUMMARY.items() if row not in left_out]
    bad = {
        key: doc.get(key)
        for key in smoke_keys
        if not isinstance(doc.get(key), (int, float)) or not math.isfinite(doc[key])
    }
    assert bad == {}
    # The paging comparison with ElastAlert2 is not part of the smoke run (its own
    # ``--only ea2`` run is long): none of its keys is written.
    assert [key for key in SUMMARY if SUMMARY[key] in left_out and key in doc] == []
    assert doc["meta"]["smoke"] is True
    assert doc["meta"]["repeats"] == 1
    assert doc["meta"]["cpu_model"] != ""
    # The costs of rules pair their runs themselves: their spread is there even in one
    # repetition, and only the share of the whole processor 50 rules add has a target.
    for key in ("rules50_cpu_cost", "rules50_throughput_cost"):
        assert doc[f"{key}_min"] <= doc[key] <= doc[f"{key}_max"]
    targets = {row["name"]: row["target"] for row in doc["rows"]}
    assert (targets["rules50_cpu_cost"], targets["rules50_throughput_cost"]) == (0.10, None)
    assert targets["rules50_alerting_role_cost"] is None
    assert targets["alert_latency_p99_s"] == 1.0
    assert proc.stdout.splitlines()[0].split()[:4] == ["name", "value", "spread", "n"]
