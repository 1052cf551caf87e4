"""The console's pure core: URL parameters, filters, panel bodies, alert rows, tail ids."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from bitacora.dashboards.render import DashboardParams, render_objects
from bitacora.errors import ConfigError
from bitacora.search.query import SearchParams
from bitacora.ui import alerts, charts, explore, panels
from bitacora.ui.config import UiConfig, check_exposure, is_loopback
from bitacora.ui.tail import parse_resume, sse_message

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DEFS = DashboardParams().definitions()


def test_url_parameters_mean_what_the_cli_flags_mean() -> None:
    req = explore.parse_request(
        {"q": ["timeout"], "since": ["15m"], "service": ["a", "b"], "level": ["warn"], "x": ["1"]},
        NOW,
        "logs-x-*",
    )
    assert req.params == SearchParams(
        query="timeout",
        start=NOW - timedelta(minutes=15),
        services=("a", "b"),
        level="warn",
        index="logs-x-*",
    )
    assert req.limit == 100
    assert req.args == {
        "q": ["timeout"],
        "since": ["15m"],
        "service": ["a", "b"],
        "level": ["warn"],
    }
    absolute = explore.parse_request({"from": ["2026-11-28T10:00:00Z"], "to": ["now-1h"]}, NOW)
    assert (absolute.params.start, absolute.params.end) == (
        datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
        NOW - timedelta(hours=1),
    )
    assert explore.parse_request({"trace": ["t1"]}, NOW).limit == explore.MAX_LIMIT


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": ["1h"], "from": ["now-2h"]}, "use since or from, not both"),
        ({"since": ["soon"]}, "invalid duration 'soon'"),
        ({"level": ["loud"]}, "unknown level 'loud'"),
        ({"limit": ["many"]}, "limit must be a whole number"),
        ({"limit": ["5000"]}, "limit must be between 0 and 1000"),
    ],
)
def test_bad_parameters_say_what_is_wrong(query: dict[str, list[str]], message: str) -> None:
    with pytest.raises(explore.BadParams, match=message):
        explore.parse_request(query, NOW)


def test_links_and_filters() -> None:
    args = {"q": ["timeout"], "since": ["1h"]}
    assert explore.link(args, trace="abc") == "/?q=timeout&since=1h&trace=abc"
    assert explore.link(args, q=None) == "/?since=1h"
    assert explore.add_filter("", "service.name", "api") == 'service.name:"api"'
    assert explore.add_filter("a OR b", "error.type", 'x"y') == '(a OR b) AND error.type:"x\\"y"'


def test_only_loopback_may_go_without_a_token() -> None:
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost")] == [True, True, True]
    assert [is_loopback(h) for h in ("0.0.0.0", "example.org")] == [False, False]
    check_exposure(UiConfig(host="127.0.0.1"))
    check_exposure(UiConfig(host="0.0.0.0", token="t"))
    with pytest.raises(ConfigError, match="set BITACORA_UI_TOKEN"):
        check_exposure(UiConfig(host="0.0.0.0"))
    assert UiConfig(host="0.0.0.0", port=8080).url == "http://127.0.0.1:8080/"


def test_every_dashboard_panel_is_defined_and_matches_its_saved_object() -> None:
    saved = {o["id"]: o for o in render_objects()}
    for dash in DEFS.dashboards:
        for ref in dash.panels:
            definition = DEFS.visualization(ref.ref) or DEFS.search(ref.ref)
            assert definition is not None, ref.ref
            source = json.loads(
                saved[ref.ref]["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
            )
            if "query" in source and getattr(definition, "chart", "") != "control":
                assert source["query"] == {"query": definition.query, "language": "lucene"}


def test_slowest_endpoints_body_and_rows() -> None:
    vis = DEFS.visualization("bitacora-vis-slowest-endpoints")
    assert vis is not None
    body, width = panels.visualization_body(
        vis, SearchParams(services=("api",), index="logs-*"), NOW - timedelta(hours=1), NOW
    )
    assert width == 300  # 1 h in at most 40 readable buckets: 5 min
    assert body["aggs"] == {
        "b0": {
            "terms": {"field": "url.path", "size": 20, "order": {"m2": "desc"}},
            "aggs": {
                "m2": {"avg": {"field": "event.duration"}},
                "m3": {"percentiles": {"field": "event.duration", "percents": [95, 99]}},
            },
        }
    }
    assert body["query"]["bool"]["must"][0]["query_string"]["query"] == "event.duration:*"
    assert {"terms": {"service.name": ["api"]}} in body["query"]["bool"]["filter"]
    answer = {
        "aggregations": {
            "b0": {
                "buckets": [
                    {"key": "/a", "doc_count": 3, "m2": {"value": 5.0},
                     "m3": {"values": {"95.0": 9.0, "99.0": 10.0}}},
                ]
            }
        }
    }  # fmt: skip
    data = panels.visualization_data(vis, answer, width)
    assert data.columns == [
        "url.path", "Count", "Average event.duration", "p95 event.duration", "p99 event.duration"
    ]  # fmt: skip
    assert data.rows == [["/a", 3, 5.0, 9.0, 10.0]]
    assert data.points == 1


def test_split_histogram_rows() -> None:
    vis = DEFS.visualization("bitacora-vis-events-by-level")
    assert vis is not None
    answer = {
        "aggregations": {
            "b0": {
                "buckets": [
                    {"key": 1000, "doc_count": 2,
                     "b1": {"buckets": [{"key": "info", "doc_count": 2}]}},
                    {"key": 2000, "doc_count": 0, "b1": {"buckets": []}},
                    {"key": 3000, "doc_count": 1,
                     "b1": {"buckets": [{"key": "error", "doc_count": 1}]}},
                ]
            }
        }
    }  # fmt: skip
    data = panels.visualization_data(vis, answer, 1)
    assert data.starts == [1000, 2000, 3000]
    assert data.series == {"info": [2, 0, 0], "error": [0, 0, 1]}
    svg = charts.stacked_time_bars(data.starts, data.series, width_s=1, title="x")
    assert re.findall(r"fill='(#\w+)' data-count='(\d+)'", svg) == [
        (charts.LEVEL_COLOURS["info"], "2"),
        (charts.LEVEL_COLOURS["error"], "1"),
    ]
    # Text and gridlines follow the page's scheme; the width comes from the page.
    assert svg.startswith("<svg xmlns='http://www.w3.org/2000/svg' class='chart' viewBox=")
    assert "<title>error 00:00:03: 1</title>" in svg
    assert panels.visualization_data(vis, {"hits": {}}, 1).points == 0


def test_alert_rows_mark_open_keys_and_link_their_events() -> None:
    def doc(at: str, rule: str, status: str) -> dict[str, object]:
        return {"@timestamp": at, "rule": rule, "key": "all", "status": status,
                "count": 2, "search_query": "error.type:X",
                "first_event_time": "2026-11-28T10:00:00Z",
                "last_event_time": "2026-11-28T10:05:00Z"}  # fmt: skip

    rows = alerts.history(
        [doc("t3", "b", "resolved"), doc("t2", "b", "firing"), doc("t1", "a", "firing")]
    )
    assert [(r.rule, r.status, r.open) for r in rows] == [
        ("b", "resolved", False),
        ("b", "firing", False),
        ("a", "firing", True),
    ]
    assert rows[0].events_url == (
        "/?q=error.type%3AX&from=2026-11-28T10%3A00%3A00.000000000Z"
        "&to=2026-11-28T10%3A05%3A00.001000000Z"
    )


def test_tail_event_ids_resume_from_their_timestamp() -> None:
    assert parse_resume("1700000000000000000:abc", 5) == (1700000000000000000, "abc")
    assert parse_resume("1700000000000000000:", 5) == (1700000000000000000, None)
    assert parse_resume("garbage", 5) == (5, None)
    hit = {
        "_source": {"@timestamp": "2026-11-28T10:00:00.5Z", "event.id": "e1", "message": "hi"},
        "sort": [1764324000500000000, "e1"],
    }
    text = sse_message(hit).decode()
    assert text.startswith("id: 1764324000500000000:e1\ndata: {")
    assert text.endswith("}\n\n")
    data = json.loads(text.split("data: ", 1)[1])
    assert (data["id"], data["message"], data["time"]) == ("e1", "hi", "2026-11-28 10:00:00.500Z")


def test_run_refuses_an_exposed_console_before_starting_anything() -> None:
    import io

    from bitacora.runner import run_pipeline
    from bitacora.settings import Settings

    out = io.StringIO()
    settings = Settings(ui_host="0.0.0.0", kafka_bootstrap="127.0.0.1:1")
    assert run_pipeline(settings, demo=False, demo_rate=1, duration_s=0, out=out) == 2
    assert out.getvalue().startswith("error: the console would listen on 0.0.0.0 without a token")
