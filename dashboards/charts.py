"""SVG bar charts for the console and the weekly review: pure functions returning markup.

No JavaScript and no external assets. Every label goes through ``html.escape``; each bar
is a ``rect`` with ``shape-rendering="crispEdges"`` (its colour is exact: the report's
screenshot test counts it), a ``data-count`` (the console's browser tests read it) and a
tooltip. A :class:`Look` says how a chart meets its page: :data:`STANDALONE` carries its
own colours and size (the report opens from a mail attachment), :data:`THEMED` leaves
text and gridlines to the page's stylesheet and scales to its box (the console's light
and dark schemes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

_FONT = "font-family='system-ui,sans-serif' font-size='11'"


@dataclass(frozen=True)
class Series:
    """One named row of values drawn in one colour."""

    name: str
    values: Sequence[float]
    colour: str


@dataclass(frozen=True)
class Look:
    """How a chart meets its page: text colour, gridline attributes, fixed size or not."""

    text: str
    grid: str
    fixed_size: bool


#: Own colours and size: the chart reads the same on a page without a stylesheet.
STANDALONE = Look(text="#334155", grid="stroke='#e2e8f0'", fixed_size=True)
#: Text in ``currentColor``, gridlines by class (``.grid``), width from the page.
THEMED = Look(text="currentColor", grid="class='grid'", fixed_size=False)


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


def compact(value: float) -> str:
    """An axis or bar label: ``950``, ``1.5k``, ``12k``."""
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:g}"


def exact(value: float) -> str:
    """A value in full (``data-count``, tooltips): whole numbers without exponent or ``.0``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _open(width: int, height: int, title: str, look: Look) -> str:
    size = f"width='{width}' height='{height}' " if look.fixed_size else ""
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' {size}"
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title, quote=True)}'>"
    )


def _bar(x: float, y: float, w: float, h: float, colour: str, value: float, tip: str) -> str:
    return (
        f"<rect x='{x:.1f}' y='{y:.1f}' width='{w:.1f}' height='{h:.1f}' fill='{colour}' "
        f"data-count='{exact(value)}' shape-rendering='crispEdges'>"
        f"<title>{escape(tip)}</title></rect>"
    )


def vertical_bars(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    title: str = "",
    look: Look = STANDALONE,
    width: int = 560,
    height: int = 200,
) -> str:
    """Vertical bars, one slot per label, with axis and legend.

    Grouped: one bar per series side by side. Stacked: the series on top of each other in
    the order given. A zero draws no bar. At most about seven labels are written under the
    axis (every n-th when there are more slots); each bar's tooltip names its label.
    """
    left, right, top, bottom = 44, 8, 30, 22
    plot_w, plot_h = width - left - right, height - top - bottom

    def value(s: Series, slot: int) -> float:
        return s.values[slot] if slot < len(s.values) else 0

    slots = range(len(labels))
    if stacked:
        highest = max((sum(value(s, i) for s in series) for i in slots), default=0)
    else:
        highest = max((v for s in series for v in s.values), default=0)
    # Four gridlines at round values: the step is the round number, not the maximum. The
    # bars are counts, so a step is never under 1 (no "0.5 events" gridline).
    peak = 4 * max(1.0, nice_step(highest / 4))
    slot_w = plot_w / max(len(labels), 1)
    bar_w = max(slot_w * 0.8 / (1 if stacked else max(len(series), 1)), 1.0)
    parts = [_open(width, height, title, look)]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f"<line x1='{left}' x2='{width - right}' y1='{y:.1f}' y2='{y:.1f}' {look.grid}/>"
        )
        parts.append(
            f"<text x='{left - 4}' y='{y + 4:.1f}' text-anchor='end' fill='{look.text}' {_FONT}>"
            f"{compact(peak * i / 4)}</text>"
        )
    for i, label in enumerate(labels):
        x = left + i * slot_w + slot_w * 0.1
        base = float(top + plot_h)
        for s in series:
            v = value(s, i)
            if v > 0:
                h = plot_h * v / peak
                parts.append(
                    _bar(x, base - h, bar_w, h, s.colour, v, f"{s.name} {label}: {exact(v)}")
                )
                if stacked:
                    base -= h
            if not stacked:
                x += bar_w
    for i in range(0, len(labels), max(1, len(labels) // 6)):
        parts.append(
            f"<text x='{left + i * slot_w + slot_w / 2:.1f}' y='{height - 6}' "
            f"text-anchor='middle' fill='{look.text}' {_FONT}>{escape(labels[i])}</text>"
        )
    x = left
    for s in series:
        parts.append(
            f"<rect x='{x}' y='4' width='10' height='10' fill='{s.colour}' "
            "shape-rendering='crispEdges'/>"
        )
        parts.append(
            f"<text x='{x + 14}' y='13' fill='{look.text}' {_FONT}>{escape(s.name)}</text>"
        )
        x += 24 + 7 * len(s.name)
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(
    items: Sequence[tuple[str, float]],
    *,
    colour: str,
    title: str = "",
    look: Look = STANDALONE,
    width: int = 560,
    row: int = 20,
    label_width: int = 220,
    value_format: Callable[[float], str] = compact,
) -> str:
    """One bar per ``(label, value)`` in the order given, one scale, the value at its end.

    Labels longer than the label column holds are cut with ``…`` (the tooltip has them whole).
    """
    height = max(len(items), 1) * row + 8
    plot_w = width - label_width - 70
    longest = label_width // 6 - 2
    peak = max((v for _, v in items), default=0) or 1
    parts = [_open(width, height, title, look)]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = max(plot_w * value / peak, 1.0) if value > 0 else 0
        shown = label if len(label) <= longest else label[: longest - 1] + "…"
        parts.append(
            f"<text x='{label_width - 6}' y='{y + row * 0.7:.1f}' text-anchor='end' "
            f"fill='{look.text}' {_FONT}><title>{escape(label)}</title>{escape(shown)}</text>"
        )
        parts.append(
            f"<rect x='{label_width}' y='{y + 2}' width='{w:.1f}' height='{row - 6}' "
            f"fill='{colour}' data-count='{exact(value)}' shape-rendering='crispEdges'/>"
        )
        parts.append(
            f"<text x='{label_width + w + 4:.1f}' y='{y + row * 0.7:.1f}' fill='{look.text}' "
            f"{_FONT}>{escape(value_format(value))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
