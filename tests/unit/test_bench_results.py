"""The pure parts of the benchmark: repetitions, spread, verdicts, the README block."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.markdown import BEGIN, END, render, replace_block
from bench.procs import parse_cpu_ticks
from bench.results import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Row,
    aggregate,
    cpu_model,
    summary_with_spread,
    table,
)
from bench.run import schedule


def _row(value: float, **kw: object) -> Row:
    return Row("ratio", value, "x", **kw)  # type: ignore[arg-type]


def test_aggregate_takes_median_lowest_and_highest_in_first_order() -> None:
    runs = [
        [_row(0.50, target=0.7), Row("other", 3.0)],
        [_row(0.40, target=0.7), Row("other", 1.0)],
        [_row(0.45, target=0.7), Row("other", math.nan)],
    ]
    ratio, other = aggregate(runs)
    assert (ratio.name, ratio.value, ratio.low, ratio.high, ratio.repeats) == (
        "ratio", 0.45, 0.40, 0.50, 3,
    )  # fmt: skip
    assert (other.name, other.value, other.low, other.high, other.repeats) == (
        "other", 2.0, 1.0, 3.0, 2,
    )  # fmt: skip


def test_aggregate_of_one_run_keeps_its_own_spread_or_none() -> None:
    single, paired = aggregate([[_row(0.3), Row("cost", 0.1, low=0.05, high=0.2, repeats=3)]])
    assert (single.value, single.low, single.high, single.repeats) == (0.3, None, None, 1)
    assert (paired.value, paired.low, paired.high, paired.repeats) == (0.1, 0.05, 0.2, 3)


def test_aggregate_of_failed_runs_stays_nan() -> None:
    (row,) = aggregate([[_row(math.nan)], [_row(math.nan)]])
    assert math.isnan(row.value)
    assert (row.low, row.high, row.repeats) == (None, None, 0)


def test_aggregate_medians_the_baselines() -> None:
    (row,) = aggregate([[_row(2.0, baseline=1.0)], [_row(4.0, baseline=3.0)]])
    assert (row.value, row.baseline, row.ratio) == (3.0, 2.0, 1.5)


@pytest.mark.parametrize(
    ("value", "low", "high", "higher_is_better", "verdict"),
    [
        (0.80, 0.78, 0.82, True, PASS),  # spread 0.04 < distance 0.10
        (0.60, 0.58, 0.62, True, FAIL),
        (0.72, 0.60, 0.85, True, INCONCLUSIVE),  # spread 0.25 > distance 0.02
        (0.68, 0.67, 0.69, True, FAIL),
        (0.30, 0.29, 0.31, False, PASS),  # lower is better: 0.30 <= 0.70
        (0.90, 0.20, 1.50, False, INCONCLUSIVE),
        (math.nan, None, None, True, FAIL),
        (0.70, None, None, True, PASS),  # no spread: on the target meets it
    ],
)
def test_verdict(
    value: float, low: float | None, high: float | None, higher_is_better: bool, verdict: str
) -> None:
    row = Row("r", value, target=0.70, higher_is_better=higher_is_better, low=low, high=high)
    assert row.verdict == verdict
    assert row.passed is (verdict == PASS)


def test_no_target_no_verdict() -> None:
    assert Row("r", 1.0).verdict is None
    assert Row("r", 1.0).passed is None


def test_summary_carries_min_and_max_beside_each_figure() -> None:
    rows = [Row("e2e", 0.45, low=0.40, high=0.50), Row("lat", 1.5)]
    summary = summary_with_spread({"e2e_ratio": "e2e", "p99": "lat", "gone": "missing"}, rows)
    assert summary == {"e2e_ratio": 0.45, "e2e_ratio_min": 0.40, "e2e_ratio_max": 0.50,
                       "p99": 1.5, "gone": summary["gone"]}  # fmt: skip
    assert math.isnan(summary["gone"])


def test_table_shows_spread_repetitions_and_verdict() -> None:
    text = table([Row("e2e", 0.72, "x", target=0.7, low=0.6, high=0.85, repeats=3)])
    header, rule, line = text.splitlines()
    assert header.split() == [
        "name", "value", "spread", "n", "unit", "baseline", "ratio", "target", "verdict",
    ]  # fmt: skip
    assert set(rule) == {"-", " "}
    assert line.split() == ["e2e", "0.720", "0.600..0.850", "3", "x", "-", "-", ">=0.700",
                            INCONCLUSIVE]  # fmt: skip


def test_schedule_interleaves_and_runs_self_repeating_benchmarks_last() -> None:
    assert schedule(["collector", "e2e", "alerting"], 3) == [
        ["collector", "e2e"],
        ["collector", "e2e"],
        ["collector", "e2e", "alerting"],
    ]
    assert schedule(["alerting"], 1) == [["alerting"]]


def test_parse_cpu_ticks_reads_utime_and_stime_after_the_command_name() -> None:
    stat = "4242 (bitacora (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 7 3 20 0 1 0"
    assert parse_cpu_ticks(stat) == 175


def test_cpu_model(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD  EPYC 7B13\nflags\t: x\n")
    assert cpu_model(info) == "AMD EPYC 7B13"
    assert cpu_model(tmp_path / "absent") == "unknown"


DOC = {
    "meta": {
        "smoke": False,
        "repeats": 3,
        "date": "2026-12-05T20:00:00Z",
        "cpus": 2,
        "cpu_model": "AMD EPYC 7B13",
    },
    "rows": [
        {"name": "e2e_ratio_vs_raw_bulk", "value": 0.45, "low": 0.34, "high": 0.47,
         "target": 0.7, "higher_is_better": True, "verdict": "FAIL"},
        {"name": "pipeline_cpu_vs_opensearch_cpu", "value": 1.04, "low": 0.98, "high": 1.1,
         "target": 0.35, "higher_is_better": False, "verdict": "FAIL"},
        {"name": "collector_events_per_cpu_second", "value": 31234.5, "low": None,
         "high": None, "target": None, "higher_is_better": True, "verdict": None},
        {"name": "not_in_the_readme", "value": 1.0},
    ],
}  # fmt: skip


def test_render_says_machine_date_and_repetitions() -> None:
    assert render(DOC).splitlines() == [
        BEGIN,
        "",
        "Measured on 2 cores (AMD EPYC 7B13) at 2026-12-05 20:00 UTC; each figure "
        "is the median of 3 interleaved repetition(s), with the lowest and highest beside it. "
        "A figure whose spread is wider than its distance to the target is inconclusive.",
        "",
        "| figure | median | spread | target | verdict |",
        "|---|---|---|---|---|",
        "| collector events per CPU-second | 31,234 | - | - | - |",
        "| end to end vs the raw bulk loader | 0.45 | 0.34\u20130.47 | ≥ 0.70 | FAIL |",
        "| pipeline CPU per event ÷ OpenSearch CPU per doc | 1.04 | 0.98\u20131.10 | ≤ 0.35 "
        "| FAIL |",
        "",
        END,
    ]


def test_render_shows_both_costs_of_rules_and_only_the_cpu_one_has_a_target() -> None:
    doc = {
        "meta": DOC["meta"],
        "rows": [
            {"name": "rules50_throughput_cost", "value": -0.01, "low": -0.04, "high": 0.23,
             "target": None, "higher_is_better": False, "verdict": None},
            {"name": "rules50_cpu_cost", "value": 0.43, "low": 0.41, "high": 0.49,
             "target": 0.1, "higher_is_better": False, "verdict": "FAIL"},
            {"name": "alert_latency_p99_s", "value": 0.31, "low": None, "high": None,
             "target": 5.0, "higher_is_better": False, "verdict": "PASS"},
        ],
    }  # fmt: skip
    assert render(doc).splitlines()[6:9] == [
        "| event-to-webhook p99 (s) | 0.31 | - | ≤ 5.00 | PASS |",
        "| cost of 50 rules: alerting role's CPU per event, vs 1 rule | 0.43 | 0.41\u20130.49 "
        "| ≤ 0.10 | FAIL |",
        "| cost of 50 rules: whole processor's events per CPU-second | -0.01 | -0.04\u20130.23 "
        "| - | - |",
    ]


def test_render_marks_a_smoke_run() -> None:
    doc = {**DOC, "meta": {**DOC["meta"], "smoke": True}}
    assert "these numbers are not a measurement" in render(doc)


def test_replace_block_swaps_only_what_lies_between_the_markers() -> None:
    text = f"# T\n\n## Speed\n\n{BEGIN}\nold\n{END}\n\n## Next\n"
    assert replace_block(text, "NEW") == "# T\n\n## Speed\n\nNEW\n\n## Next\n"
    with pytest.raises(ValueError, match="no generated block markers"):
        replace_block("# T\n", "NEW")
