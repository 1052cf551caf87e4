"""Inline SVG charts for the weekly review: pure functions returning markup strings.

No JavaScript and no external assets: the page must open from a mail attachment or an
archive years later. Every label goes through ``html.escape``; bars use
``shape-rendering="crispEdges"`` so their colour is exact (the screenshot test counts it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

THIS_WEEK = "#2563eb"
PREVIOUS_WEEK = "#cbd5e1"
ERRORS = "#dc2626"
PREVIOUS_ERRORS = "#fca5a5"
DEADLETTER = "#9333ea"
ENDPOINT = "#0d9488"
_TEXT = "#334155"
_GRID = "#e2e8f0"
_FONT = "font-family='system-ui,sans-serif' font-size='11'"


@dataclass(frozen=True)
class Series:
    """One named row of values drawn in one colour."""

    name: str
    values: Sequence[float]
    colour: str


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^n at or above ``value`` (an axis maximum people read)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = step * 10.0**exponent
        if candidate >= value * (1 - 1e-9):
            return candidate
    return 10.0 ** (exponent + 1)


def nice_step(value: float) -> float:
    """A gridline step at or above ``value``: 1, 2, 5 x 10^n, or 25, 250, … (whole numbers)."""
    step = nice_ceiling(value)
    half = step / 2
    # 5 x 10^n steps may halve to 2.5 x 10^n when that still covers the value (and is whole).
    if value >= 10 and half >= value and str(int(half)).startswith("25"):
        return half
    return step


def _fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:g}"


def grouped_bars(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str = "",
    width: int = 560,
    height: int = 200,
) -> str:
    """Vertical bars, one group per label, one bar per series, with axis and legend."""
    left, right, top, bottom = 44, 8, 30, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    # Four gridlines at round values: the step is the round number, not the maximum.
    peak = 4 * nice_step(max((v for s in series for v in s.values), default=0) / 4)
    group_w = plot_w / max(len(labels), 1)
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1.0)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title, quote=True)}'>"
    ]
    for i in range(5):
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f"<line x1='{left}' x2='{width - right}' y1='{y:.1f}' y2='{y:.1f}' stroke='{_GRID}'/>"
        )
        parts.append(
            f"<text x='{left - 4}' y='{y + 4:.1f}' text-anchor='end' fill='{_TEXT}' {_FONT}>"
            f"{_fmt(value)}</text>"
        )
    for g, label in enumerate(labels):
        x0 = left + g * group_w + group_w * 0.1
        for k, s in enumerate(series):
            value = s.values[g] if g < len(s.values) else 0
            h = plot_h * value / peak
            x = x0 + k * bar_w
            parts.append(
                f"<rect x='{x:.1f}' y='{top + plot_h - h:.1f}' width='{bar_w:.1f}' "
                f"height='{h:.1f}' fill='{s.colour}' shape-rendering='crispEdges'>"
                f"<title>{escape(s.name)} {escape(label)}: {value:g}</title></rect>"
            )
        parts.append(
            f"<text x='{left + g * group_w + group_w / 2:.1f}' y='{height - 6}' "
            f"text-anchor='middle' fill='{_TEXT}' {_FONT}>{escape(label)}</text>"
        )
    x = left
    for s in series:
        parts.append(
            f"<rect x='{x}' y='4' width='10' height='10' fill='{s.colour}' "
            "shape-rendering='crispEdges'/>"
        )
        parts.append(f"<text x='{x + 14}' y='13' fill='{_TEXT}' {_FONT}>{escape(s.name)}</text>")
        x += 24 + 7 * len(s.name)
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(
    items: Sequence[tuple[str, float]],
    *,
    colour: str,
    title: str = "",
    width: int = 560,
    row: int = 20,
    label_width: int = 220,
    value_format: Callable[[float], str] = _fmt,
) -> str:
    """One bar per ``(label, value)``, longest first as given, the value at the bar's end."""
    height = max(len(items), 1) * row + 8
    plot_w = width - label_width - 70
    peak = max((v for _, v in items), default=0) or 1
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title, quote=True)}'>"
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = max(plot_w * value / peak, 1.0) if value > 0 else 0
        shown = label if len(label) <= 34 else label[:33] + "…"
        parts.append(
            f"<text x='{label_width - 6}' y='{y + row * 0.7:.1f}' text-anchor='end' fill='{_TEXT}' "
            f"{_FONT}><title>{escape(label)}</title>{escape(shown)}</text>"
        )
        parts.append(
            f"<rect x='{label_width}' y='{y + 2}' width='{w:.1f}' height='{row - 6}' "
            f"fill='{colour}' shape-rendering='crispEdges'/>"
        )
        parts.append(
            f"<text x='{label_width + w + 4:.1f}' y='{y + row * 0.7:.1f}' fill='{_TEXT}' {_FONT}>"
            f"{escape(value_format(value))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
