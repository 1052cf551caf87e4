"""Benchmark results: one row per measurement, a terminal table and ``latest.json``."""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


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

    @property
    def ratio(self) -> float | None:
        """value / baseline, when there is a baseline."""
        if self.baseline is None or self.baseline == 0 or not math.isfinite(self.baseline):
            return None
        return self.value / self.baseline

    @property
    def passed(self) -> bool | None:
        """Whether the target is met (None without a target)."""
        if self.target is None:
            return None
        if not math.isfinite(self.value):
            return False
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


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


def table(rows: list[Row]) -> str:
    """The rows as an aligned text table."""
    head = ("name", "value", "unit", "baseline", "ratio", "target", "pass")
    lines = [head]
    for r in rows:
        verdict = {None: "", True: "PASS", False: "FAIL"}[r.passed]
        target = None if r.target is None else r.target
        op = "" if r.target is None else (">=" if r.higher_is_better else "<=")
        lines.append(
            (
                r.name,
                _fmt(r.value),
                r.unit,
                _fmt(r.baseline),
                _fmt(r.ratio),
                op + _fmt(target) if op else "-",
                verdict,
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


def write_json(
    rows: list[Row], summary: dict[str, float], path: Path, *, smoke: bool, seconds: float
) -> None:
    """``summary`` (the headline keys) plus every row, as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        **summary,
        "meta": {
            "smoke": smoke,
            "duration_s": round(seconds, 1),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "python": platform.python_version(),
            "cpus": __import__("os").cpu_count(),
        },
        "rows": [{**asdict(r), "ratio": r.ratio, "passed": r.passed} for r in rows],
    }
    path.write_text(json.dumps(doc, indent=2, default=lambda v: None) + "\n")
