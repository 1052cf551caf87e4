"""The generated paging rows of docs/elastalert2.md (bench/ea2_doc.py; pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.ea2_doc import BEGIN, DOC, END, main, render

D = "\u2013"  # the en dash of a range

ROWS = [
    {"name": "ea2_paging_latency_p50_s", "value": 6.5},
    {"name": "ea2_paging_latency_min_s", "value": 1.625},
    {"name": "ea2_paging_latency_max_s", "value": 12.25},
    {"name": "ea2_pages_per_burst", "value": 1.0},
    {"name": "bitacora_paging_latency_p50_s", "value": 0.375},
    {"name": "bitacora_paging_latency_min_s", "value": 0.25},
    {"name": "bitacora_paging_latency_max_s", "value": 0.5},
    {"name": "bitacora_pages_per_burst", "value": 1.0},
    {"name": "ea2_bursts", "value": 5.0},
    {"name": "ea2_run_every_s", "value": 10},
]
RESULTS = {
    "meta": {"cpus": 2, "cpu_model": "Test CPU", "date": "2026-12-05T23:40:00Z", "repeats": 3},
    "rows": ROWS,
}


def test_render_writes_the_rows_and_how_they_were_measured() -> None:
    lines = render(RESULTS).splitlines()
    assert lines[:4] == [
        f"{BEGIN} Paging latency after a burst, median of 5 bursts "
        "| 6.50 s with `run_every: 10s` | 0.38 s |",
        f"| Paging latency after a burst, fastest{D}slowest | 1.62{D}12.2 s | 0.25{D}0.50 s |",
        "| Pages per burst | exactly one, each of 5 bursts | exactly one, each of 5 bursts |",
        "",
    ]
    assert lines[-1] == END
    assert len(lines) == 6
    assert "on 2 cores (Test CPU) at 2026-12-05 23:40 UTC" in lines[4]
    assert "`num_events: 5`" in lines[4]
    assert "`buffer_time: 15 min`" in lines[4]


def test_a_failed_run_shows_not_available() -> None:
    failed = {
        "meta": {"smoke": True},
        "rows": [
            {"name": "ea2_paging_latency_p50_s", "value": float("nan")},
            {"name": "bitacora_pages_per_burst", "value": float("nan")},
        ],
    }
    lines = render(failed).splitlines()
    assert lines[:3] == [
        f"{BEGIN} Paging latency after a burst, median of ? bursts | n/a | n/a |",
        f"| Paging latency after a burst, fastest{D}slowest | n/a | n/a |",
        "| Pages per burst | n/a | n/a |",
    ]
    assert "**Smoke run: these numbers are not a measurement.**" in lines


def test_doc_option_rewrites_only_the_block(tmp_path: Path) -> None:
    results = tmp_path / "latest.json"
    results.write_text(json.dumps(RESULTS))
    page = tmp_path / "elastalert2.md"
    table = "| | ElastAlert2 2.19 | Bitácora |\n|---|---|---|\n| Evaluation | polls | stream |\n"
    page.write_text(f"# EA2\n\n{table}| {BEGIN} old | 1 s | 2 s |\n\nold note\n{END}\n\n## After\n")
    assert main([str(results), "--doc", str(page)]) == 0
    assert page.read_text() == f"# EA2\n\n{table}| {render(RESULTS)}\n\n## After\n"


def test_doc_option_refuses_results_without_the_paging_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "latest.json"
    results.write_text(json.dumps({"meta": {}, "rows": [{"name": "alert_latency_p50_s"}]}))
    page = tmp_path / "elastalert2.md"
    page.write_text(f"| {BEGIN} x |\n{END}\n")
    assert main([str(results), "--doc", str(page)]) == 1
    assert page.read_text() == f"| {BEGIN} x |\n{END}\n"
    assert "run `python -m bench.run --only ea2` first" in capsys.readouterr().err


def test_the_elastalert2_page_holds_the_block_in_its_table() -> None:
    text = DOC.read_text()
    assert text.index(BEGIN) < text.index(END)
    # The block starts inside the first cell of a table row.
    assert text[text.index(BEGIN) - 2 : text.index(BEGIN)] == "| "
