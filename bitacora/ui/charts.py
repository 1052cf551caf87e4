"""Server-rendered SVG charts of the console: pure functions returning markup.

Text uses ``currentColor`` so the page's light or dark scheme applies; every label goes
through ``html.escape``. Each bar is a ``rect`` with a ``data-count`` (the browser tests
read them) and a tooltip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from bitacora.dashboards.report.charts import nice_step

#: Colours of the log levels; other series take the palette in order.
LEVEL_COLOURS = {
    "trace": "#94a3b8",
    "debug": "#64748b",
    "info": "#2563eb",
    "warn": "#d97706",
    "error": "#dc2626",
    "fatal": "#7c3aed",
}
PALETTE = ("#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0d9488", "#db2777", "#65a30d")
_FONT = "font-family='system-ui,sans-serif' font-size='11'"


def colours(names: Sequence[str]) -> dict[str, str]:
    """A colour per series name: the level colour when it is a level, else the palette."""
    out: dict[str, str] = {}
    spare = iter(PALETTE * (len(names) // len(PALETTE) + 1))
    for name in names:
        out[name] = LEVEL_COLOURS.get(name.lower()) or next(spare)
    return out


def _tick(ms: int, width_s: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime(
        "%m-%d" if width_s >= 86400 else "%H:%M" if width_s >= 60 else "%H:%M:%S"
    )


def _order(series: Mapping[str, Sequence[int]]) -> list[str]:
    levels = [lvl for lvl in LEVEL_COLOURS if lvl in series]
    return levels + sorted(k for k in series if k not in LEVEL_COLOURS)


def stacked_time_bars(
    starts: Sequence[int],
    series: Mapping[str, Sequence[int]],
    *,
    width_s: int,
    title: str,
    width: int = 720,
    height: int = 180,
) -> str:
    """Counts per time bucket (``starts`` in ms), one stacked colour per series, with legend."""
    left, right, top, bottom = 44, 8, 24, 20
    plot_w, plot_h = width - left - right, height - top - bottom
    names = _order(series)
    palette = colours(names)
    totals = [sum(series[n][i] for n in names) for i in range(len(starts))]
    peak = 4 * nice_step(max(totals, default=0) / 4)
    slot = plot_w / max(len(starts), 1)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='{escape(title, quote=True)}'>"
    ]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f"<line x1='{left}' x2='{width - right}' y1='{y:.1f}' y2='{y:.1f}' class='grid'/>"
        )
        parts.append(
            f"<text x='{left - 4}' y='{y + 4:.1f}' text-anchor='end' fill='currentColor' {_FONT}>"
            f"{peak * i / 4:g}</text>"
        )
    for i, start in enumerate(starts):
        y = top + plot_h
        for name in names:
            value = series[name][i]
            if value <= 0:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f"<rect x='{left + i * slot + slot * 0.1:.1f}' y='{y:.1f}' "
                f"width='{max(slot * 0.8, 1):.1f}' height='{h:.1f}' fill='{palette[name]}' "
                f"data-count='{value}' shape-rendering='crispEdges'>"
                f"<title>{escape(name)} {escape(_tick(start, width_s))}: {value}</title></rect>"
            )
    step = max(1, len(starts) // 6)
    for i in range(0, len(starts), step):
        parts.append(
            f"<text x='{left + i * slot + slot / 2:.1f}' y='{height - 5}' text-anchor='middle' "
            f"fill='currentColor' {_FONT}>{escape(_tick(starts[i], width_s))}</text>"
        )
    x = left
    for name in names:
        parts.append(f"<rect x='{x}' y='4' width='10' height='10' fill='{palette[name]}'/>")
        parts.append(f"<text x='{x + 14}' y='13' fill='currentColor' {_FONT}>{escape(name)}</text>")
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def bars(items: Sequence[tuple[str, float]], *, title: str, width: int = 520, row: int = 20) -> str:
    """Horizontal bars, one per ``(label, value)`` in the order given, value at the end."""
    label_w = 180
    height = max(len(items), 1) * row + 8
    plot_w = width - label_w - 60
    peak = max((v for _, v in items), default=0) or 1
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='{escape(title, quote=True)}'>"
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = max(plot_w * value / peak, 1.0) if value > 0 else 0
        shown = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f"<text x='{label_w - 6}' y='{y + row * 0.7:.1f}' text-anchor='end' "
            f"fill='currentColor' {_FONT}><title>{escape(label)}</title>{escape(shown)}</text>"
        )
        parts.append(
            f"<rect x='{label_w}' y='{y + 2}' width='{w:.1f}' height='{row - 6}' "
            f"fill='{PALETTE[0]}' data-count='{value:g}' shape-rendering='crispEdges'/>"
        )
        parts.append(
            f"<text x='{label_w + w + 4:.1f}' y='{y + row * 0.7:.1f}' fill='currentColor' "
            f"{_FONT}>{value:g}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
