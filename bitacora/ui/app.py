"""The console's aiohttp application: thin handlers over ``explore``, ``panels``, ``alerts``.

OpenSearch calls are the blocking client of ``bitacora search`` run in a worker thread, so
Explore returns exactly what ``bitacora search`` prints for the same query.
"""

from __future__ import annotations

import asyncio
import getpass
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web
from opensearchpy import OpenSearch

from bitacora import schema
from bitacora.dashboards.render import DashboardParams
from bitacora.search import client as shell
from bitacora.search import query as q
from bitacora.search.errors import BadQueryError, SearchConnectionError
from bitacora.search.timeparse import format_display, to_nanos
from bitacora.ui import alerts, charts, explore, panels
from bitacora.ui.config import UiConfig
from bitacora.ui.tail import tail_stream

HERE = Path(__file__).parent
CONFIG: web.AppKey[UiConfig] = web.AppKey("config", UiConfig)
CLIENT: web.AppKey[OpenSearch] = web.AppKey("client", OpenSearch)
ENV: web.AppKey[jinja2.Environment] = web.AppKey("env", jinja2.Environment)
TOKEN_COOKIE = "bitacora_ui_token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = lambda value: format_display(str(value), UTC) if value else ""
    env.filters["pretty"] = lambda value: json.dumps(
        value, indent=2, ensure_ascii=False, sort_keys=True
    )
    env.globals.update(link=explore.link, add_filter=explore.add_filter, get=q.get_field)
    return env


def page(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    """A rendered page of the console."""
    text = request.app[ENV].get_template(template).render(path=request.path, **values)
    return web.Response(text=text, content_type="text/html", status=status)


async def _search(request: web.Request, index: str, body: q.Body) -> dict[str, Any]:
    client = request.app[CLIENT]

    def run() -> dict[str, Any]:
        with shell.translated_errors():
            result: dict[str, Any] = client.search(
                index=index,
                body=body,
                params={"ignore_unavailable": "true", "allow_no_indices": "true"},
            )
            return result

    return await asyncio.to_thread(run)


def _whole(text: str, name: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise explore.BadParams(f"{name} must be a whole number") from exc
    if not low <= value <= high:
        raise explore.BadParams(f"{name} must be between {low} and {high}")
    return value


def _now() -> datetime:
    return datetime.now(UTC)


def same_origin(origin: str | None, host: str) -> bool:
    """Whether a request's ``Origin`` (absent for same-origin GETs and old clients) is us."""
    if origin is None:
        return True
    return urlsplit(origin).netloc == host


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the token (``?token=``, cookie or ``Authorization: Bearer``); errors as pages."""
    if request.method != "GET" and not same_origin(request.headers.get("Origin"), request.host):
        # Another site's form may post to a console on 127.0.0.1 (there is no token there).
        return web.Response(status=403, text="403: cross-site request refused\n")
    token = request.app[CONFIG].token
    remember = False
    if token is not None:
        given = request.cookies.get(TOKEN_COOKIE) or request.query.get("token", "")
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            given = auth[7:]
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.Response(
                status=401, text="401: open the console with ?token=<BITACORA_UI_TOKEN>\n"
            )
        remember = "token" in request.query
    try:
        response = await handler(request)
    except (explore.BadParams, BadQueryError) as exc:
        response = page(request, "error.html.j2", status=400, message=str(exc))
    except SearchConnectionError as exc:
        response = page(request, "error.html.j2", status=502, message=str(exc))
    if remember and token is not None and not response.prepared:
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
    return response


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Nothing loads from elsewhere: a strict content security policy on every page."""
    response = await handler(request)
    if not response.prepared:
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
        )
    return response


async def explore_page(request: web.Request) -> web.Response:
    """``/``: the query, the level histogram, the top values and the matching events."""
    config = request.app[CONFIG]
    now = _now()
    req = explore.parse_request(
        {k: request.query.getall(k) for k in request.query}, now, config.logs_pattern
    )
    params = req.params
    forward = params.trace_id is not None

    def hits() -> list[shell.Hit]:
        with shell.translated_errors():
            return list(
                shell.stream_hits(request.app[CLIENT], params, limit=req.limit, forward=forward)
            )

    rows = await asyncio.to_thread(hits)
    tops = explore.top_values(await _search(request, params.index, explore.top_values_body(params)))
    chart = ""
    bounds = await _search(request, params.index, q.bounds_body(params))
    agg = bounds.get("aggregations")  # absent when no index matches the pattern yet
    first, last = (agg["first"]["value"], agg["last"]["value"]) if agg else (None, None)
    span = explore.histogram_range(params, now, (first, last))
    if span is not None:
        body, width = explore.level_histogram_body(params, *span)
        starts, series = explore.split_buckets(await _search(request, params.index, body))
        chart = charts.stacked_time_bars(starts, series, width_s=width, title="Events by level")
    newest = max(rows, key=shell.hit_time_ns) if rows else None
    resume = (
        f"{shell.hit_time_ns(newest)}:{shell.hit_id(newest)}" if newest else f"{to_nanos(now)}:"
    )
    return page(
        request,
        "explore.html.j2",
        req=req,
        rows=[hit["_source"] for hit in rows],
        tops=tops,
        chart=chart,
        resume=resume,
        since_choices=explore.SINCE_CHOICES,
        levels=schema.LEVELS,
    )


async def context_page(request: web.Request) -> web.Response:
    """``/context?id=``: the events before and after one event, same service and pod."""
    config = request.app[CONFIG]
    event_id = request.query.get("id", "")
    lines = _whole(request.query.get("n", "10"), "n", 1, 200)
    found = (await _search(request, config.logs_pattern, explore.event_by_id_body(event_id)))[
        "hits"
    ]["hits"]
    if not found:
        raise web.HTTPNotFound(text=f"no event with id {event_id}")
    hit = found[0]

    def around() -> tuple[list[shell.Hit], list[shell.Hit]]:
        with shell.translated_errors():
            return shell.context(request.app[CLIENT], hit, lines, config.logs_pattern)

    before, after = await asyncio.to_thread(around)
    return page(
        request,
        "context.html.j2",
        event=hit["_source"],
        before=[h["_source"] for h in before],
        after=[h["_source"] for h in after],
        args={},
    )


async def tail(request: web.Request) -> web.StreamResponse:
    """``/api/tail``: server-sent events of new matching events (see ``tail.py``)."""
    config = request.app[CONFIG]
    req = explore.parse_request(
        {k: request.query.getall(k) for k in request.query}, _now(), config.logs_pattern
    )
    resume = request.headers.get("Last-Event-ID") or request.query.get("last", "")
    return await tail_stream(request, request.app[CLIENT], req.params, resume, config)


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
    now = _now()
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
                vis, await _search(request, filters.index, body), width
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
                    "query": vis.query,
                }
            )
            continue
        search = defs.search(ref.ref)
        assert search is not None  # definitions are checked by the unit tests
        filters = q.SearchParams(services=req.params.services, index=patterns[search.index])
        body = panels.search_body(search, filters, start, end)
        data = panels.search_data(search, await _search(request, filters.index, body))
        shown.append(
            {
                "ref": ref,
                "title": search.title,
                "kind": "search",
                "data": data,
                "svg": "",
                "query": search.query,
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
    days = _whole(request.query.get("days", "7"), "days", 1, 365)
    rule = request.query.get("rule") or None
    body = alerts.history_body(alerts.since_start(_now(), days), rule)
    rows = alerts.history((await _search(request, config.alerts_pattern, body))["hits"]["hits"])
    stored = await read_silences(config.kafka_bootstrap, config.silences_topic)
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
    from bitacora.processors.alerting.silences import write_silence
    from bitacora.rules.durations import parse_duration
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
    await write_silence(config.kafka_bootstrap, config.silences_topic, record, record["id"])
    raise web.HTTPSeeOther(f"/alerts?message=silenced+{rule}")


async def silence_delete(request: web.Request) -> web.StreamResponse:
    """``POST /alerts/silences/{id}/delete``: remove a silence."""
    from bitacora.processors.alerting.silences import write_silence

    config = request.app[CONFIG]
    silence_id = request.match_info["id"]
    await write_silence(config.kafka_bootstrap, config.silences_topic, None, silence_id)
    raise web.HTTPSeeOther(f"/alerts?message=removed+silence+{silence_id}")


async def report_page(request: web.Request) -> web.Response:
    """``/report?week=2026-W48``: the weekly review (``bitacora report weekly``) in the browser."""
    from bitacora.dashboards.report.collect import ReportIndices, build_report
    from bitacora.dashboards.report.model import Week
    from bitacora.dashboards.report.render import render_html

    config = request.app[CONFIG]
    now = _now()
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


def make_app(config: UiConfig, client: OpenSearch) -> web.Application:
    """The console for ``config``, reading OpenSearch through ``client``."""
    app = web.Application(middlewares=[headers, guard])
    app[CONFIG] = config
    app[CLIENT] = client
    app[ENV] = _environment()
    app.router.add_get("/", explore_page)
    app.router.add_get("/context", context_page)
    app.router.add_get("/api/tail", tail)
    app.router.add_get("/dashboards", dashboards_page)
    app.router.add_get("/dashboards/{id}", dashboard_page)
    app.router.add_get("/alerts", alerts_page)
    app.router.add_post("/alerts/silences", silence_create)
    app.router.add_post("/alerts/silences/{id}/delete", silence_delete)
    app.router.add_get("/report", report_page)
    app.router.add_get("/app/data-explorer/discover", discover_page)
    app.router.add_static("/static/", HERE / "static")
    return app
