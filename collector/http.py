"""HTTP ingestion, Fluentd ``in_http`` compatible, plus ``/healthz``, ``/readyz`` and ``/metrics``.

``POST /<tag>`` (``/a/b`` is tag ``a.b``) takes a JSON object, a JSON array of objects,
NDJSON (``application/x-ndjson``, or detected), msgpack, or a form with a ``json`` field;
``Content-Encoding: gzip`` bodies are inflated here with a cap. A numeric ``time`` field
(seconds) is the event time and is removed from the record, as ``in_http`` does; else the
``?time=`` parameter, else the receive time. The answer is 200 only once Kafka holds every
event; 503 when Kafka cannot take them, 401 without the bearer token, 413 over the limits,
400 when nothing in the body is JSON. Invalid items of a valid batch are dead-lettered.
The OTLP paths ``/v1/logs``, ``/v1/traces`` and ``/v1/metrics`` are not tags: 404.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from typing import Any, Final
from urllib.parse import parse_qs

import msgpack
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bitacora.collector.budget import ByteBudget
from bitacora.collector.forward.packed import decompress
from bitacora.collector.forward.request import time_ns
from bitacora.collector.httpserve import serve
from bitacora.collector.metrics import CollectorMetrics
from bitacora.collector.publisher import KafkaUnavailable, Publisher
from bitacora.collector.records import deadletter, raw_records, split_oversized
from bitacora.deadletter import TOO_LARGE
from bitacora.errors import DecodeError
from bitacora.settings import Settings

SOURCE: Final = "http"


class BadBody(ValueError):
    """The body holds nothing decodable (400)."""


def parse_body(body: bytes, content_type: str) -> tuple[list[Any], list[tuple[str, bytes]]]:
    """Split a request body into items and (reason, original) rejects; pure.

    Raises BadBody when the body as a whole cannot be read.
    """
    if content_type in ("application/msgpack", "application/x-msgpack"):
        try:
            item = msgpack.unpackb(body, raw=False, unicode_errors="surrogateescape")
        except Exception as exc:  # msgpack raises several unrelated types
            raise BadBody(f"body is not msgpack: {exc}") from exc
        return (item if isinstance(item, list) else [item]), []
    # Invalid UTF-8 is kept (as lone surrogates, restored to the same bytes in Kafka) for the
    # processor to repair, instead of refusing the whole batch.
    text = body.decode("utf-8", "surrogateescape")
    if content_type != "application/x-ndjson":
        try:
            item = json.loads(text)
            return (item if isinstance(item, list) else [item]), []
        except ValueError as exc:
            if content_type == "application/json" and "Extra data" not in str(exc):
                raise BadBody(f"body is not JSON: {exc}") from exc
    items: list[Any] = []
    rejects: list[tuple[str, bytes]] = []
    for line in text.split("\n"):  # not splitlines(): U+2028 is legal inside JSON strings
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except ValueError:
            rejects.append(("bad_json", line.rstrip("\r").encode("utf-8", "surrogateescape")))
    if not items and rejects:
        raise BadBody("no line of the body is JSON")
    return items, rejects


def to_events(
    items: list[Any], default_ns: int
) -> tuple[list[tuple[int, dict[Any, Any]]], list[tuple[str, bytes]]]:
    """(time_ns, record) for each JSON object; anything else is rejected as ``bad_record``."""
    events: list[tuple[int, dict[Any, Any]]] = []
    rejects: list[tuple[str, bytes]] = []
    for item in items:
        if type(item) is not dict:
            rejects.append(("bad_record", json.dumps(item).encode()))
            continue
        when = time_ns(item.get("time"))  # int or float seconds
        if when is not None and type(item["time"]) in (int, float):
            del item["time"]
            events.append((when, item))
        else:
            events.append((default_ns, item))
    return events, rejects


def query_time_ns(value: str) -> int | None:
    """The ``?time=`` parameter (seconds, maybe fractional) in nanoseconds, None if invalid."""
    try:
        return time_ns(float(value))
    except ValueError:
        return None


def tag_of(path: str) -> str:
    """``/a/b`` → ``a.b`` (Fluentd in_http)."""
    return ".".join(part for part in path.split("/") if part)


class HttpSource:
    """The aiohttp application and its handlers."""

    def __init__(
        self,
        settings: Settings,
        publisher: Publisher,
        metrics: CollectorMetrics,
        budget: ByteBudget | None = None,
    ) -> None:
        self._settings = settings
        self._publisher = publisher
        self._metrics = metrics
        self._budget = budget or ByteBudget(settings.max_inflight_bytes)
        token = settings.http_token
        self._token = f"Bearer {token.get_secret_value()}".encode() if token else None
        self._runner: web.AppRunner | None = None
        self.port = settings.http_port

    def app(self) -> web.Application:
        """The aiohttp application (routes: /healthz, /readyz, /metrics, POST /<tag>)."""
        app = web.Application(client_max_size=self._settings.max_http_body_bytes)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_post("/v1/{signal:logs|traces|metrics}", self.otlp_path)
        app.router.add_post("/{tag:.+}", self.ingest)
        return app

    async def start(self) -> None:
        """Listen on ``bind_host:http_port`` (0: any free port)."""
        self._runner, self.port = await serve(
            self.app(), self._settings.bind_host, self._settings.http_port
        )

    async def stop(self) -> None:
        """Finish running requests and close."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        """Alive: the event loop answers (Kafka's state is /readyz's business)."""
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        """200 only when Kafka answers: a collector that cannot publish takes no traffic."""
        if await self._publisher.healthy():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="kafka unavailable\n")

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text exposition."""
        body = generate_latest(self._metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def otlp_path(self, request: web.Request) -> web.Response:
        """``/v1/logs`` and friends are OTLP paths, not tags: 404, nothing stored."""
        self._reject("unknown_path")
        return web.Response(
            status=404,
            text=f"OTLP is served on the OTLP/HTTP port ({self._settings.otlp_http_port}), "
            "not on the HTTP input\n",
        )

    def _reject(self, reason: str, amount: int = 1) -> None:
        self._metrics.rejections.inc(SOURCE, reason, amount=amount)

    async def ingest(self, request: web.Request) -> web.Response:
        """POST /<tag>: 200 once Kafka holds every event of the body."""
        s = self._settings
        if self._token is not None:
            offered = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(offered, self._token):
                self._reject("unauthorized")
                return web.Response(status=401, text="missing or wrong bearer token\n")
        if (request.content_length or 0) > s.max_http_body_bytes:
            self._reject("body_too_large")
            return web.Response(status=413, text="body over max_http_body_bytes\n")
        # Reserve in-flight budget before reading when the size is known, so many large
        # bodies at once wait here instead of all sitting in memory.
        taken = await self._budget.acquire(request.content_length or 0)
        try:
            return await self._ingest(request, taken)
        finally:
            self._budget.release(taken)

    async def _ingest(self, request: web.Request, taken: int) -> web.Response:
        s, metrics = self._settings, self._metrics
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self._reject("body_too_large")
            return web.Response(status=413, text="body over max_http_body_bytes\n")
        tag = tag_of(request.match_info["tag"])
        metrics.requests.inc(SOURCE)
        metrics.bytes.inc(SOURCE, tag, amount=len(body))
        try:
            if request.headers.get("Content-Encoding", "").lower() == "gzip":
                body = decompress(body, "gzip", s.max_decompressed_bytes)
            items, rejects = self._items(request, body)
        except DecodeError:
            self._reject("body_too_large")
            return web.Response(status=413, text="body inflates over max_decompressed_bytes\n")
        except ValueError as exc:
            self._reject("bad_body")
            return web.Response(status=400, text=f"{exc}\n")
        received = time.time_ns()
        default_ns = received
        if "time" in request.query:
            given = query_time_ns(request.query["time"])
            if given is None:
                return web.Response(status=400, text="time parameter is not a number\n")
            default_ns = given
        events, bad_records = to_events(items, default_ns)
        rejects += bad_records
        peer = request.remote or ""
        # An Idempotency-Key makes a retried request map to the same event ids (as a
        # forward chunk id does), so a retry after a 503 or a lost answer is not doubled.
        key = request.headers.get("Idempotency-Key")
        records = raw_records(tag, events, received, peer, SOURCE, f"http:{key}" if key else None)
        records, too_large = split_oversized(records, self._publisher.record_limit)
        rejects += [(TOO_LARGE, value) for value in too_large]
        letters = [deadletter(r, original, tag, received, peer, SOURCE) for r, original in rejects]
        for reason, _ in rejects:
            self._reject(reason)
        extra = await self._budget.acquire(max(0, len(body) - taken))
        try:
            # Bounded: while Kafka is unreachable the client learns it (503) in time to
            # retry, instead of waiting for the producer's own request timeout.
            async with asyncio.timeout(self._settings.http_publish_timeout_s):
                await self._publisher.publish(records, letters)
        except (KafkaUnavailable, TimeoutError):
            metrics.publish_failures.inc(SOURCE)
            return web.Response(status=503, text="Kafka cannot take the events now; retry\n")
        finally:
            self._budget.release(extra)
        metrics.events.inc(SOURCE, tag, amount=len(events))
        if letters:
            metrics.deadletters.inc(SOURCE, amount=len(letters))
        metrics.acks.inc(SOURCE)
        return web.Response(text="")

    def _items(
        self, request: web.Request, body: bytes
    ) -> tuple[list[Any], list[tuple[str, bytes]]]:
        content_type = request.content_type
        if content_type == "application/x-www-form-urlencoded":
            form = parse_qs(body.decode("utf-8", "replace"))
            if "json" not in form:
                raise BadBody("form has no json field")
            return parse_body(form["json"][0].encode(), "application/json")
        return parse_body(body, content_type)
