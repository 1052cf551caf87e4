"""OTLP/HTTP: ``POST /v1/logs`` (``application/x-protobuf`` or ``application/json``,
``Content-Encoding: gzip``) and ``GET /healthz``; every other path answers 404.

The HTTP input's rules apply: the bearer token (``http_token``), 413 over
``max_http_body_bytes`` or when the body inflates over ``max_decompressed_bytes``, 503
while Kafka cannot take the records (OTLP clients retry 503), 400 for a body that is no
logs request, 415 for another content type. The answer uses the request's encoding.
"""

from __future__ import annotations

import hmac
from typing import Final

from aiohttp import web
from google.protobuf import json_format

from bitacora.collector.forward.packed import decompress
from bitacora.collector.httpserve import serve
from bitacora.collector.otlp.decode import BadRequest, Encoding
from bitacora.collector.otlp.ingest import OtlpIngest, Unavailable
from bitacora.errors import DecodeError
from bitacora.settings import Settings

SOURCE: Final = "otlp_http"
_ENCODINGS: Final[dict[str, Encoding]] = {
    "application/x-protobuf": "protobuf",
    "application/protobuf": "protobuf",
    "application/json": "json",
}


class OtlpHttpServer:
    """The aiohttp application serving OTLP/HTTP logs."""

    def __init__(self, settings: Settings, ingest: OtlpIngest) -> None:
        self._settings = settings
        self._ingest = ingest
        token = settings.http_token
        self._token = f"Bearer {token.get_secret_value()}".encode() if token else None
        self._runner: web.AppRunner | None = None
        self.port = settings.otlp_http_port

    def app(self) -> web.Application:
        """Routes: ``POST /v1/logs``, ``GET /healthz``."""
        app = web.Application(client_max_size=self._settings.max_http_body_bytes)
        app.router.add_post("/v1/logs", self.logs)
        app.router.add_get("/healthz", self.healthz)
        return app

    async def start(self) -> None:
        """Listen on ``bind_host:otlp_http_port`` (0: any free port)."""
        self._runner, self.port = await serve(
            self.app(), self._settings.bind_host, self._settings.otlp_http_port
        )

    async def stop(self) -> None:
        """Finish running requests and close."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        """200 only when Kafka answers."""
        if await self._ingest.healthy():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="kafka unavailable\n")

    async def logs(self, request: web.Request) -> web.Response:
        """``POST /v1/logs``: the ExportLogsServiceResponse once Kafka holds the records."""
        s = self._settings
        if self._token is not None:
            offered = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(offered, self._token):
                self._ingest.reject(SOURCE, "unauthorized")
                return web.Response(status=401, text="missing or wrong bearer token\n")
        encoding = _ENCODINGS.get(request.content_type)
        if encoding is None:
            self._ingest.reject(SOURCE, "bad_content_type")
            return web.Response(
                status=415, text="send application/x-protobuf or application/json\n"
            )
        if (request.content_length or 0) > s.max_http_body_bytes:
            self._ingest.reject(SOURCE, "body_too_large")
            return web.Response(status=413, text="body over max_http_body_bytes\n")
        budget = self._ingest.budget
        taken = await budget.acquire(request.content_length or 0)
        try:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                self._ingest.reject(SOURCE, "body_too_large")
                return web.Response(status=413, text="body over max_http_body_bytes\n")
            if request.headers.get("Content-Encoding", "").lower() == "gzip":
                try:
                    body = decompress(body, "gzip", s.max_decompressed_bytes)
                except DecodeError:
                    self._ingest.reject(SOURCE, "body_too_large")
                    return web.Response(
                        status=413, text="body inflates over max_decompressed_bytes\n"
                    )
                except ValueError as exc:
                    self._ingest.reject(SOURCE, "bad_body")
                    return web.Response(status=400, text=f"body is not gzip: {exc}\n")
            extra = await budget.acquire(max(0, len(body) - taken))
            try:
                peer = request.remote or ""
                response = await self._ingest.export(body, encoding, peer, SOURCE)
            except BadRequest as exc:
                return web.Response(status=400, text=f"{exc}\n")
            except Unavailable as exc:
                return web.Response(status=503, text=f"{exc}\n")
            finally:
                budget.release(extra)
        finally:
            budget.release(taken)
        if encoding == "json":
            return web.json_response(text=json_format.MessageToJson(response, indent=None) or "{}")
        return web.Response(
            body=response.SerializeToString(), content_type="application/x-protobuf"
        )
