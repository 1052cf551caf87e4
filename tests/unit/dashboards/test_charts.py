"""The shared SVG bars (bitacora.dashboards.charts): scales, geometry, escaping, looks."""

from __future__ import annotations

import re

from bitacora.dashboards.charts import (
    STANDALONE,
    THEMED,
    Series,
    compact,
    exact,
    horizontal_bars,
    nice_ceiling,
    nice_step,
    vertical_bars,
)

BAR = re.compile(
    r"<rect x='([\d.]+)' y='([\d.]+)' width='([\d.]+)' height='([\d.]+)' "
    r"fill='(#\w+)' data-count='([^']+)'"
)


def test_axis_maxima_and_steps_are_round() -> None:
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 7, 11, 250, 999)] == [
        1.0,
        0.5,
        1.0,
        10.0,
        20.0,
        500.0,
        1000.0,
    ]
    assert [nice_step(v) for v in (3, 12, 23.5, 26, 230, 1100)] == [
        5.0,
        20.0,
        25.0,
        50.0,
        250.0,
        2000.0,
    ]


def test_numbers_compact_on_axes_and_exact_in_counts() -> None:
    assert [compact(v) for v in (0, 950, 1500, 12_345)] == ["0", "950", "1.5k", "12k"]
    assert [exact(v) for v in (0, 4, 2.0, 2.5, 1_000_000)] == ["0", "4", "2", "2.5", "1000000"]


# 252 x 152 leaves a 200 x 100 plot (margins 44/8 and 30/22): two slots of 100 px.
SERIES = [Series("a", [2, 0], "#aaaaaa"), Series("b", [2, 4], "#bbbbbb")]


def test_grouped_bars_stand_side_by_side_on_one_scale() -> None:
    svg = vertical_bars(["x", "y"], SERIES, width=252, height=152)
    assert BAR.findall(svg) == [
        ("54.0", "80.0", "40.0", "50.0", "#aaaaaa", "2"),
        ("94.0", "80.0", "40.0", "50.0", "#bbbbbb", "2"),
        ("194.0", "30.0", "40.0", "100.0", "#bbbbbb", "4"),  # a zero draws no bar
    ]


def test_stacked_bars_pile_up_in_series_order() -> None:
    svg = vertical_bars(["x", "y"], SERIES, stacked=True, width=252, height=152)
    assert BAR.findall(svg) == [
        ("54.0", "80.0", "80.0", "50.0", "#aaaaaa", "2"),
        ("54.0", "30.0", "80.0", "50.0", "#bbbbbb", "2"),
        ("154.0", "30.0", "80.0", "100.0", "#bbbbbb", "4"),
    ]
    assert "<title>b y: 4</title>" in svg


def test_labels_are_escaped_and_thinned_to_about_seven() -> None:
    svg = vertical_bars(["Mon", "<b>"], [Series("a&b", [1, 3], "#2563eb")], title='x"y')
    assert svg.startswith("<svg xmlns='http://www.w3.org/2000/svg'")
    assert "&lt;b&gt;" in svg
    assert "a&amp;b" in svg
    assert "aria-label='x&quot;y'" in svg
    assert svg.count("fill='#2563eb'") == 3  # two bars and the legend swatch
    many = vertical_bars([f"t{i}" for i in range(13)], [Series("n", [1] * 13, "#000000")])
    shown = re.findall(r"text-anchor='middle'[^>]*>(t\d+)</text>", many)
    assert shown == ["t0", "t2", "t4", "t6", "t8", "t10", "t12"]


def test_the_look_decides_size_text_and_gridlines() -> None:
    alone = vertical_bars(["x"], SERIES[:1], look=STANDALONE, width=300, height=100)
    themed = vertical_bars(["x"], SERIES[:1], look=THEMED, width=300, height=100)
    assert alone.startswith(
        "<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='300' height='100' "
        "viewBox='0 0 300 100'"
    )
    assert themed.startswith(
        "<svg xmlns='http://www.w3.org/2000/svg' class='chart' viewBox='0 0 300 100'"
    )
    assert alone.count("stroke='#e2e8f0'") == 5
    assert themed.count("class='grid'") == 5
    assert "currentColor" not in alone
    assert "fill='#334155'" not in themed


def test_horizontal_bars_share_one_scale_and_cut_long_labels() -> None:
    bars = horizontal_bars([("/x", 10.0), ("/y", 5.0)], colour="#0d9488")
    assert bars.count("<rect") == 2
    assert "width='270.0'" in bars
    assert "width='135.0'" in bars  # one scale for every bar
    assert re.findall(r"data-count='([^']+)'", bars) == ["10", "5"]
    label = "/api/" + "v" * 40
    cut = horizontal_bars([(label, 1.0)], colour="#000000", label_width=180)
    assert f"<title>{label}</title>{label[:27]}…</text>" in cut


def test_small_counts_get_whole_number_gridlines() -> None:
    # Two events at most: gridlines 0..4 in steps of 1, never "0.5" or "1.5".
    svg = vertical_bars(["a", "b"], [Series("n", [2, 1], "#aaaaaa")])
    axis = re.findall(r"text-anchor='end'[^>]*>([^<]*)</text>", svg)
    assert axis == ["0", "1", "2", "3", "4"]
