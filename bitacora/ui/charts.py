"""The console's charts: its colours and time axis over the shared SVG bars.

The drawing is :mod:`bitacora.dashboards.charts` (the weekly review draws with it too);
here the console picks the colours (log levels, then a palette) and the ``THEMED`` look,
so text and gridlines follow the page's light or dark scheme.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from bitacora.dashboards.charts import THEMED, Series, horizontal_bars, vertical_bars

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


def colours(names: Sequence[str]) -> dict[str, str]:
    """A colour per series name: the level colour when it is a level, else the palette."""
    out: dict[str, str] = {}
    spare = iter(PALETTE * (len(names) // len(PALETTE) + 1))
    for name in names:
        out[name] = LEVEL_COLOURS.get(name.lower()) or next(spare)
    return out


def tick(ms: int, width_s: int) -> str:
    """A bucket start (epoch ms) as its axis label: the day, the minute or the second."""
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
    """Counts per time bucket (``starts`` in ms), one stacked colour per series, with legend.

    Levels stack from trace up to fatal, other series follow by name.
    """
    names = _order(series)
    palette = colours(names)
    return vertical_bars(
        [tick(start, width_s) for start in starts],
        [Series(name, series[name], palette[name]) for name in names],
        stacked=True,
        title=title,
        look=THEMED,
        width=width,
        height=height,
    )


def bars(items: Sequence[tuple[str, float]], *, title: str) -> str:
    """Horizontal bars, one per ``(label, value)`` in the order given, value at the end."""
    return horizontal_bars(
        items, colour=PALETTE[0], title=title, look=THEMED, width=520, label_width=180
    )
