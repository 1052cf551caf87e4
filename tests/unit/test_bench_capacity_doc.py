"""The generated figures block of docs/capacity.md (bench/capacity_doc.py; pure)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.capacity_doc import BEGIN, DOC, END, main, render

D = "\u2013"  # the en dash between the ends of a spread

ROWS = [
    {"name": "collector_events_per_cpu_second", "value": 100_000, "low": 80_000, "high": 125_000},
    {"name": "opensearch_cpu_s_per_1000_docs", "value": 0.05, "low": 0.04, "high": 0.08},
    {"name": "alerting_1rule_events_per_cpu_second", "value": 200_000},
    {"name": "ingest_to_searchable_p99_s_at_70pct", "value": 1.5, "low": 1.25, "high": 2.5},
    {"name": "rules50_cpu_cost", "value": 0.53, "low": 0.42, "high": 0.57},
    {"name": "normalize_cpu_budget_us_at_target", "value": -1.25, "low": -2.5, "high": 0.5},
]
RESULTS = {
    "meta": {"cpus": 2, "cpu_model": "Test CPU", "date": "2026-12-05T23:00:00Z", "repeats": 3},
    "rows": ROWS,
}


def test_costs_show_rate_and_micros_with_their_spreads() -> None:
    lines = render(RESULTS).splitlines()
    assert lines[0] == BEGIN
    assert lines[-1] == END
    assert (
        f"| collector, forward PackedForward | 100,000 (80,000{D}125,000) | 10.0 (8.00{D}12.5) |"
        in lines
    )
    # CPU-seconds per 1,000 docs: 0.05 is 20,000 docs per CPU-second; the cheapest run is the
    # fastest one.
    assert (
        f"| OpenSearch JVM, raw `_bulk` of the same documents | 20,000 (12,500{D}25,000) "
        f"| 50.0 (40.0{D}80.0) |"
    ) in lines
    assert "| alerting role alone, 1 rule | 200,000 | 5.00 |" in lines
    assert "| collector, HTTP NDJSON | n/a | n/a |" in lines
    assert f"| ingest-to-searchable p99 at 70% load (s) | 1.50 | 1.25{D}2.50 |" in lines
    assert f"| CPU 50 rules add, share of the whole processor's | 0.53 | 0.42{D}0.57 |" in lines
    # A negative budget: the other components alone already spend more than the target.
    assert (
        "| normalize CPU per event the target of the ratio above leaves, the others as "
        f"measured (µs) | -1.25 | -2.50{D}0.50 |"
    ) in lines
    assert "| the floor: decode + copy into a document + encode, quiet (µs) | n/a | - |" in lines
    assert any("2 cores (Test CPU) at 2026-12-05 23:00 UTC" in line for line in lines)


def test_doc_option_rewrites_only_the_block(tmp_path: Path) -> None:
    results = tmp_path / "latest.json"
    results.write_text(json.dumps(RESULTS))
    page = tmp_path / "capacity.md"
    page.write_text(f"# Capacity\n\n{BEGIN}\nold figures\n{END}\n\n## After\n")
    assert main([str(results), "--doc", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("# Capacity\n\n" + render(RESULTS) + "\n\n## After\n")
    assert "old figures" not in text


def test_the_capacity_page_has_the_markers() -> None:
    text = DOC.read_text()
    assert text.index(BEGIN) < text.index(END)
