"""The console served in this process on a free port (its own thread and event loop)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from bench.procs import free_port
from bitacora.search.client import make_client
from bitacora.settings import Settings
from bitacora.ui.app import make_app
from bitacora.ui.config import UiConfig


@contextlib.contextmanager
def running_console(settings: Settings, config: UiConfig) -> Iterator[str]:
    """Serve ``config`` on a free port in a thread; yields the base URL."""
    from aiohttp import web

    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    client = make_client(settings)
    runner = web.AppRunner(
        make_app(config, settings, client), access_log=None, shutdown_timeout=1.0
    )

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        started.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(30), "the console did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        client.close()
