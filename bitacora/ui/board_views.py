"""Handlers of the dashboards, the alerts and silences, the weekly report."""

from __future__ import annotations

import asyncio
import getpass
import time
from typing import Any

from aiohttp import web

from bitacora.dashboards.render import DashboardParams
from bitacora.search import client as shell
from bitacora.search import query as q
from bitacora.search.alerts import recent_alerts
from bitacora.ui import alerts, charts, explore, panels
from bitacora.ui.config import UiConfig
from bitacora.ui.web import CLIENT, CONFIG, SETTINGS, os_search, page, utc_now, whole

HISTORY_SIZE = 200  # alert documents shown, newest first


def _dashboard_params(config: UiConfig) -> DashboardParams:
    return DashboardParams(
        logs_pattern=config.logs_pattern,
        alerts_pattern=config.alerts_pattern,
        deadletter_pattern=config.deadletter_pattern,
    )


async def dashboards_page(request: web.Request) -> web.Response:
    """``/dashboards``: the shipped dashboards."""
    defs = _dashboard_params(request.app[CONFIG]).definitions()
    return page(request, "dashboards.html.j2", dashboards=defs.dashboards, args={})


async def dashboard_page(request: web.Request) -> web.Response:
    """``/dashboards/{id}``: every panel of one dashboard over a time range."""
    params = _dashboard_params(request.app[CONFIG])
    defs = params.definitions()
    dash = defs.dashboard(request.match_info["id"])
    if dash is None:
        raise web.HTTPNotFound(text="no such dashboard: see /dashboards")
    now = utc_now()
    start_text, end_text = request.query.get("from", ""), request.query.get("to", "")
    since = "" if start_text else request.query.get("since") or dash.time_from.removeprefix("now-")
    req = explore.parse_request(
        {
            "since": [since],
            "from": [start_text],
            "to": [end_text],
            "service": request.query.getall("service", []),
        },
        now,
    )
    start = req.params.start or now
    end = req.params.end or now
    patterns = params.patterns()
    shown = []
    for ref in dash.panels:
        vis = defs.visualization(ref.ref)
        if vis is not None:
            filters = q.SearchParams(services=req.params.services, index=patterns[vis.index])
            body, width = panels.visualization_body(vis, filters, start, end)
            data = panels.visualization_data(
                vis, await os_search(request, filters.index, body), width
            )
            svg = ""
            if vis.chart == "histogram":
                svg = charts.stacked_time_bars(
                    data.starts, data.series, width_s=width, title=vis.title
                )
            elif vis.chart == "horizontal_bar":
                svg = charts.bars(data.items, title=vis.title)
            shown.append(
                {
                    "ref": ref,
                    "title": vis.title,
                    "kind": vis.chart,
                    "data": data,
                    "svg": svg,
                    # Explore searches the logs: link only the panels over them.
                    "query": vis.query if vis.index == "logs" else "",
                }
            )
            continue
        search = defs.search(ref.ref)
        assert search is not None  # definitions are checked by the unit tests
        filters = q.SearchParams(services=req.params.services, index=patterns[search.index])
        body = panels.search_body(search, filters, start, end)
        data = panels.search_data(search, await os_search(request, filters.index, body))
        shown.append(
            {
                "ref": ref,
                "title": search.title,
                "kind": "search",
                "data": data,
                "svg": "",
                "query": search.query if search.index == "logs" else "",
            }
        )
    return page(
        request,
        "dashboard.html.j2",
        dash=dash,
        panels=shown,
        since=since,
        start_text=start_text,
        end_text=end_text,
        services=req.params.services,
        since_choices=explore.SINCE_CHOICES,
        args={},
    )


async def alerts_page(request: web.Request) -> web.Response:
    """``/alerts``: alert history (open first) and the silences."""
    from bitacora.processors.alerting.silences import read_silences
    from bitacora.rules.notify.silences import unexpired

    config = request.app[CONFIG]
    days = whole(request.query.get("days", "7"), "days", 1, 365)
    rule = request.query.get("rule") or None
    start = utc_now().timestamp() - days * 86400

    def recent() -> list[dict[str, Any]]:
        with shell.translated_errors():
            return recent_alerts(
                request.app[CLIENT], start, rule, HISTORY_SIZE, config.alerts_pattern
            )

    rows = alerts.history(await asyncio.to_thread(recent))
    stored = await read_silences(request.app[SETTINGS], config.silences_topic)
    return page(
        request,
        "alerts.html.j2",
        rows=rows,
        rule=rule,
        days=days,
        silences=unexpired(stored.values(), time.time()),
        args={},
        message=request.query.get("message", ""),
    )


async def silence_create(request: web.Request) -> web.StreamResponse:
    """``POST /alerts/silences``: store a silence (as ``bitacora alerts silence`` does)."""
    from bitacora.durations import parse_duration
    from bitacora.processors.alerting.silences import write_silence
    from bitacora.rules.notify.silences import new_silence

    form = await request.post()
    rule = str(form.get("rule", "")).strip()
    key = str(form.get("key", "")).strip() or None
    try:
        seconds = parse_duration(str(form.get("for", "")).strip())
    except ValueError as exc:
        raise explore.BadParams(str(exc)) from exc
    if not rule:
        raise explore.BadParams("a silence needs the rule name")
    record = new_silence(
        rule, key, seconds, str(form.get("comment", "")), time.time(), getpass.getuser()
    )
    config = request.app[CONFIG]
    await write_silence(request.app[SETTINGS], config.silences_topic, record, record["id"])
    raise web.HTTPSeeOther(f"/alerts?message=silenced+{rule}")


async def silence_delete(request: web.Request) -> web.StreamResponse:
    """``POST /alerts/silences/{id}/delete``: remove a silence."""
    from bitacora.processors.alerting.silences import write_silence

    config = request.app[CONFIG]
    silence_id = request.match_info["id"]
    await write_silence(request.app[SETTINGS], config.silences_topic, None, silence_id)
    raise web.HTTPSeeOther(f"/alerts?message=removed+silence+{silence_id}")


async def report_page(request: web.Request) -> web.Response:
    """``/report?week=2026-W48``: the weekly review (``bitacora report weekly``) in the browser."""
    from bitacora.dashboards.report.collect import ReportIndices, build_report
    from bitacora.dashboards.report.model import Week
    from bitacora.dashboards.report.render import render_html

    config = request.app[CONFIG]
    now = utc_now()
    try:
        week = (
            Week.parse(request.query["week"])
            if request.query.get("week")
            else Week.last_complete(now)
        )
    except ValueError as exc:
        raise explore.BadParams(str(exc)) from exc
    indices = ReportIndices(
        logs=config.logs_pattern, alerts=config.alerts_pattern, deadletter=config.deadletter_pattern
    )

    def build() -> str:
        with shell.translated_errors():
            result = build_report(
                request.app[CLIENT], week, indices=indices, progress=lambda _l: None, now=now
            )
        return render_html(result)

    return web.Response(text=await asyncio.to_thread(build), content_type="text/html")


async def discover_page(request: web.Request) -> web.Response:
    """Alert links made for Dashboards' Discover: ``app.js`` reads the fragment and opens
    Explore with the same query and time range (set BITACORA_SEARCH_URL_BASE to the console)."""
    return page(request, "discover.html.j2", args={})
