"""The console's aiohttp application: middlewares and routes over the page handlers.

OpenSearch calls are the blocking client of ``bitacora search`` run in a worker thread, so
Explore returns exactly what ``bitacora search`` prints for the same query.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import web
from opensearchpy import OpenSearch

from bitacora.search.errors import BadQueryError, SearchConnectionError
from bitacora.settings import Settings
from bitacora.ui import explore
from bitacora.ui.board_views import (
    alerts_page,
    dashboard_page,
    dashboards_page,
    discover_page,
    report_page,
    silence_create,
    silence_delete,
)
from bitacora.ui.config import UiConfig
from bitacora.ui.explore_views import context_page, explore_page, tail
from bitacora.ui.web import CLIENT, CONFIG, ENV, HERE, SETTINGS, Handler, environment, page

TOKEN_COOKIE = "bitacora_ui_token"


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


def make_app(config: UiConfig, settings: Settings, client: OpenSearch) -> web.Application:
    """The console for ``config``: OpenSearch through ``client``, Kafka from ``settings``."""
    app = web.Application(middlewares=[headers, guard])
    app[CONFIG] = config
    app[CLIENT] = client
    app[SETTINGS] = settings
    app[ENV] = environment()
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
