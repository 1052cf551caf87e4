"""Start an aiohttp application on a host and port: the collector's HTTP inputs share it."""

from __future__ import annotations

from aiohttp import web


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Listen with ``app`` on ``host:port`` (0: any free port); the runner and the bound port.

    Bodies are not inflated by aiohttp (which has no cap): each input inflates what it
    parses, with its own limit.
    """
    runner = web.AppRunner(app, auto_decompress=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    port_bound: int = runner.addresses[0][1]  # (host, port[, flow, scope]) of the socket
    return runner, port_bound
