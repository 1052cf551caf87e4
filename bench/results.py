"""Benchmark results: one row per measurement, a terminal table and ``latest.json``.

A figure measured over several interleaved repetitions is their median, with the lowest
and highest repetition beside it (``low``/``high``); a figure whose spread is wider than
its distance to the target cannot tell a pass from a fail and is ``INCONCLUSIVE``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.warmup import WarmRound

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"


@dataclass
class Row:
    """One measured value, optionally against a baseline and a target.

    ``higher_is_better`` decides how ``target`` is compared: value >= target, or value <=
    target for latencies and costs.
    """

    name: str
    value: float
    unit: str = ""
    baseline: float | None = None
    target: float | None = None
    higher_is_better: bool = True
    note: str = ""
    low: float | None = None  # the lowest and highest repetition, when repeated
    high: float | None = None
    repeats: int = 1

    @property
    def ratio(self) -> float | None:
        """value / baseline, when there is a baseline."""
        if self.baseline is None or self.baseline == 0 or not math.isfinite(self.baseline):
            return None
        return self.value / self.baseline

    @property
    def spread(self) -> float:
        """high - low over the repetitions (0 for a single measurement)."""
        if self.low is None or self.high is None:
            return 0.0
        return self.high - self.low

    @property
    def verdict(self) -> str | None:
        """PASS, FAIL or INCONCLUSIVE against the target (None without a target).

        INCONCLUSIVE when the spread of the repetitions exceeds the distance between the
        median and the target: another run could land on the other side of it.
        """
        if self.target is None:
            return None
        if not math.isfinite(self.value):
            return FAIL
        if self.spread > abs(self.value - self.target):
            return INCONCLUSIVE
        met = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return PASS if met else FAIL

    @property
    def passed(self) -> bool | None:
        """Whether the target is met beyond the spread (None without a target)."""
        verdict = self.verdict
        return None if verdict is None else verdict == PASS


def aggregate(repetitions: Sequence[Sequence[Row]]) -> list[Row]:
    """One row per name over repeated runs: the median value, the lowest and the highest.

    Rows keep the order of their first appearance; NaN repetitions (a failed part) are left
    out of the median, and a figure with no finite repetition stays NaN. Baselines are
    medians too; ``repeats`` counts the finite repetitions (a single run keeps its own).
    """
    by_name: dict[str, list[Row]] = {}
    for rows in repetitions:
        for row in rows:
            by_name.setdefault(row.name, []).append(row)
    out = []
    for rows in by_name.values():
        values = [r.value for r in rows if math.isfinite(r.value)]
        first = rows[0]
        if not values:
            out.append(replace(first, value=math.nan, low=None, high=None, repeats=0))
            continue
        lows = [r.low for r in rows if r.low is not None] + values
        highs = [r.high for r in rows if r.high is not None] + values
        baselines = [r.baseline for r in rows if r.baseline is not None]
        out.append(
            replace(
                first,
                value=statistics.median(values),
                low=min(lows) if len(rows) > 1 or first.low is not None else None,
                high=max(highs) if len(rows) > 1 or first.high is not None else None,
                baseline=statistics.median(baselines) if baselines else None,
                # One run of a figure that repeats itself (pairs of runs) keeps its count.
                repeats=len(values) if len(rows) > 1 else first.repeats,
            )
        )
    return out


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "nan"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def spread_text(row: Row) -> str:
    """``low..high`` of a repeated figure, ``-`` for a single measurement."""
    if row.low is None or row.high is None:
        return "-"
    return f"{_fmt(row.low)}..{_fmt(row.high)}"


def table(rows: list[Row]) -> str:
    """The rows as an aligned text table: median, spread (lowest..highest repetition), verdict."""
    head = ("name", "value", "spread", "n", "unit", "baseline", "ratio", "target", "verdict")
    lines = [head]
    for r in rows:
        op = "" if r.target is None else (">=" if r.higher_is_better else "<=")
        lines.append(
            (
                r.name,
                _fmt(r.value),
                spread_text(r),
                str(r.repeats),
                r.unit,
                _fmt(r.baseline),
                _fmt(r.ratio),
                op + _fmt(r.target) if op else "-",
                r.verdict or "",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        out.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (``unknown`` when absent)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return "unknown"
    for line in text.splitlines():
        if line.startswith("model name"):
            return " ".join(line.split(":", 1)[1].split())
    return "unknown"


def summary_with_spread(summary: dict[str, str], rows: Sequence[Row]) -> dict[str, float]:
    """Headline key → median, plus ``<key>_min``/``<key>_max`` from the row it names."""
    by_name = {r.name: r for r in rows}
    out: dict[str, float] = {}
    for key, name in summary.items():
        row = by_name.get(name)
        out[key] = row.value if row is not None else math.nan
        if row is not None and row.low is not None and row.high is not None:
            out[f"{key}_min"] = row.low
            out[f"{key}_max"] = row.high
    return out


def write_json(
    rows: list[Row],
    summary: dict[str, float],
    path: Path,
    *,
    smoke: bool,
    seconds: float,
    repeats: int = 1,
    warmup: Sequence[WarmRound] = (),
) -> None:
    """``summary`` (the headline keys, with their spread) plus every row, as JSON; the
    meta says how OpenSearch was warmed (``opensearch_warmup``, when it was)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta: dict[str, object] = {
        "smoke": smoke,
        "repeats": repeats,
        "duration_s": round(seconds, 1),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
    }
    if warmup:
        meta["opensearch_warmup"] = {
            "rounds": len(warmup),
            "documents": sum(r.documents for r in warmup),
            "last_jit_share": warmup[-1].jit_share,
        }
    doc = {
        **summary,
        "meta": meta,
        "rows": [
            {**asdict(r), "ratio": r.ratio, "passed": r.passed, "verdict": r.verdict} for r in rows
        ],
    }
    path.write_text(json.dumps(doc, indent=2, default=lambda v: None) + "\n")
