"""``serve`` reports the port it bound, on either event loop (bitacora/eventloop.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import pytest
import uvloop
from aiohttp import web

from bitacora.collector.httpserve import serve


async def _answer(request: web.Request) -> web.Response:
    return web.Response(text="here")


async def _bound_and_answered() -> tuple[int, str]:
    app = web.Application()
    app.router.add_get("/", _answer)
    runner, port = await serve(app, "127.0.0.1", 0)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/") as response,
        ):
            return port, await response.text()
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    "new_loop", [uvloop.new_event_loop, asyncio.SelectorEventLoop], ids=["uvloop", "asyncio"]
)
def test_port_zero_binds_a_free_port_and_serves_on_it(
    new_loop: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    with asyncio.Runner(loop_factory=new_loop) as runner:
        port, text = runner.run(_bound_and_answered())
    assert port > 0
    assert text == "here"
