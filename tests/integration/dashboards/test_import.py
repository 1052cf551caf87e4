"""`bitacora dashboards import` sends exactly the request Dashboards' _import expects.

The receiver is a real aiohttp server on 127.0.0.1 in its own thread (no Dashboards here).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import BodyPartReader, web
from click.testing import CliRunner

from bitacora.cli import main
from bitacora.dashboards.importer import import_saved_objects
from bitacora.dashboards.render import render
from bitacora.errors import DeliveryError


@dataclass
class Receiver:
    """What the fake Dashboards received, and what it answers."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    answer: tuple[int, dict[str, Any]] = (200, {"success": True, "successCount": 23})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    started = threading.Event()
    loop = asyncio.new_event_loop()

    async def handle(request: web.Request) -> web.Response:
        parts = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader)
            parts.append(
                {
                    "name": part.name,
                    "filename": part.filename,
                    "content_type": part.headers.get("Content-Type"),
                    "body": (await part.read()).decode(),
                }
            )
        state.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "xsrf": request.headers.get("osd-xsrf"),
                "authorization": request.headers.get("Authorization"),
                "content_type": request.content_type,
                "parts": parts,
            }
        )
        status, body = state.answer
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/api/saved_objects/_import", handle)
    runner = web.AppRunner(app)

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        state.url = f"http://127.0.0.1:{port}"
        started.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    yield state
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_cli_import_posts_the_exact_multipart_request(receiver: Receiver) -> None:
    result = CliRunner().invoke(
        main,
        [
            "dashboards",
            "import",
            "--url",
            receiver.url + "/",
            "--user",
            "admin",
            "--password-env",
            "OSD_PW",
        ],
        env={"OSD_PW": "s3cr:et"},
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"imported 23 saved objects into {receiver.url}/\n"
    assert receiver.requests == [
        {
            "method": "POST",
            "path": "/api/saved_objects/_import",
            "query": {"overwrite": "true"},
            "xsrf": "true",
            "authorization": "Basic " + base64.b64encode(b"admin:s3cr:et").decode(),
            "content_type": "multipart/form-data",
            "parts": [
                {
                    "name": "file",
                    "filename": "bitacora-dashboards.ndjson",
                    "content_type": "application/ndjson",
                    "body": render(),
                }
            ],
        }
    ]


def test_import_without_auth_and_from_a_file(receiver: Receiver, tmp_path: Any) -> None:
    path = tmp_path / "objects.ndjson"
    text = render().splitlines()[0] + "\n"
    path.write_text(text)
    result = CliRunner().invoke(
        main, ["dashboards", "import", "--url", receiver.url, "--file", str(path)]
    )
    assert result.exit_code == 0, result.output
    [request] = receiver.requests
    assert request["authorization"] is None
    assert request["parts"][0]["body"] == text
    assert request["parts"][0]["filename"].endswith(".ndjson")


def test_refused_import_is_an_error(receiver: Receiver) -> None:
    receiver.answer = (
        200,
        {
            "success": False,
            "successCount": 0,
            "errors": [
                {"id": "bitacora-logs", "type": "index-pattern", "error": {"type": "conflict"}},
                {"id": "x", "type": "search", "error": {"type": "missing_references"}},
            ],
        },
    )
    with pytest.raises(
        DeliveryError,
        match=r"^Dashboards refused index-pattern/bitacora-logs: conflict \(and 1 more\)$",
    ):
        asyncio.run(import_saved_objects(receiver.url, render()))
    receiver.answer = (401, {"statusCode": 401, "message": "Unauthorized"})
    result = CliRunner().invoke(main, ["dashboards", "import", "--url", receiver.url])
    assert result.exit_code == 1
    assert result.output == "error: Dashboards answered 401: Unauthorized\n"


def test_unreachable_dashboards_and_missing_password_env() -> None:
    result = CliRunner().invoke(main, ["dashboards", "import", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert result.output.startswith(
        "error: cannot reach OpenSearch Dashboards at http://127.0.0.1:9"
    )
    missing = CliRunner().invoke(
        main,
        ["dashboards", "import", "--url", "http://127.0.0.1:9", "--password-env", "NOPE_UNSET"],
        env={},
    )
    assert missing.exit_code == 2
    assert "$NOPE_UNSET is not set" in missing.output


def test_render_command_writes_the_file(tmp_path: Any) -> None:
    target = tmp_path / "saved.ndjson"
    result = CliRunner().invoke(main, ["dashboards", "render", "--out-file", str(target)])
    assert result.exit_code == 0
    assert target.read_text() == render()
    assert all(json.loads(line)["id"] for line in target.read_text().splitlines())
    checked = CliRunner().invoke(main, ["dashboards", "check", str(target)])
    assert checked.exit_code == 0
    assert checked.output == "26 saved objects ok\n"
