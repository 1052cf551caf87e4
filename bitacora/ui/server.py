"""Serve the console until interrupted (the shell of ``bitacora ui``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from bitacora.search.client import make_client
from bitacora.settings import Settings
from bitacora.ui.app import make_app
from bitacora.ui.config import UiConfig, check_exposure


async def serve(config: UiConfig, settings: Settings, ready: Callable[[str], None]) -> None:
    """Listen on ``config.host``:``config.port`` and call ``ready`` with the URL; runs forever.

    Raises ``ConfigError`` before listening when the address is exposed without a token.
    """
    check_exposure(config)
    client = make_client(settings)
    runner = web.AppRunner(
        make_app(config, settings, client), access_log=None, shutdown_timeout=1.0
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, config.host, config.port).start()
        ready(config.url)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        client.close()
