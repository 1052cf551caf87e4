"""What every page handler of the console shares: app keys, rendering, searching."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from opensearchpy import OpenSearch

from bitacora.fields import lookup
from bitacora.search import client as shell
from bitacora.search import query as q
from bitacora.search.timeparse import format_display
from bitacora.settings import Settings
from bitacora.ui import explore
from bitacora.ui.config import UiConfig

HERE = Path(__file__).parent
CONFIG: web.AppKey[UiConfig] = web.AppKey("config", UiConfig)
CLIENT: web.AppKey[OpenSearch] = web.AppKey("client", OpenSearch)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
ENV: web.AppKey[jinja2.Environment] = web.AppKey("env", jinja2.Environment)
TOKEN_COOKIE = "bitacora_ui_token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = lambda value: format_display(str(value), UTC) if value else ""
    env.filters["pretty"] = lambda value: json.dumps(
        value, indent=2, ensure_ascii=False, sort_keys=True
    )
    env.globals.update(link=explore.link, add_filter=explore.add_filter, get=lookup)
    return env


def page(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    """A rendered page of the console."""
    text = request.app[ENV].get_template(template).render(path=request.path, **values)
    return web.Response(text=text, content_type="text/html", status=status)


async def os_search(request: web.Request, index: str, body: q.Body) -> dict[str, Any]:
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


def whole(text: str, name: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise explore.BadParams(f"{name} must be a whole number") from exc
    if not low <= value <= high:
        raise explore.BadParams(f"{name} must be between {low} and {high}")
    return value


def utc_now() -> datetime:
    return datetime.now(UTC)
