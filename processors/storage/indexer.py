"""The bulk indexer: a thin async shell over OpenSearch's ``_bulk`` endpoint.

It posts pre-encoded NDJSON bodies with aiohttp (opensearch-py's async client would
re-wrap the same aiohttp call with its own serialization and retry layers, and we need
neither: bodies are bytes already and retries are per item). The decisions live in
bulk.py; this module only sends, sleeps and loops.

Nothing is dropped: connection errors, timeouts, 429s and 5xx are retried with capped,
jittered backoff for as long as it takes, and only the failed items are sent again. The
caller holds its Kafka offsets meanwhile (backpressure instead of loss). Only documents
OpenSearch refuses for good are returned, with the reason, to be dead-lettered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, NamedTuple, Self

import aiohttp
import orjson

from bitacora import clients, schema
from bitacora.processors.shell.counters import BULK_RETRIES, BULK_SECONDS
from bitacora.processors.storage.bulk import (
    BackoffPolicy,
    BadBundle,
    Doc,
    Request,
    classify_bulk_response,
    plan_requests,
    request_verdict,
)
from bitacora.processors.storage.deadletter import deadletter_id
from bitacora.settings import Settings

log = logging.getLogger(__name__)

# Only what classification needs: the response of a 2,000-item bulk shrinks roughly 5x.
# Every item keeps its status, so positions still line up with the request.
BULK_PATH: Final = "/_bulk?filter_path=errors,items.*.status,items.*.error"
JSON_HEADERS: Final = {"Content-Type": "application/x-ndjson"}


class RejectedDoc(NamedTuple):
    """A document OpenSearch refused for good, with ``"error_type: reason"``."""

    doc: Doc
    reason: str


@dataclass(slots=True)
class IndexResult:
    """What one :meth:`BulkIndexer.index` call achieved."""

    indexed: int = 0  # newly created documents
    duplicates: int = 0  # already there (409): done, thanks to the deterministic _id
    rejected: list[RejectedDoc] = field(default_factory=list)
    # Bundles that are not bulk lines (bulk.BadBundle), whole: dead-letter them.
    broken: list[bytes] = field(default_factory=list)
    requests: int = 0  # HTTP requests sent, retries included
    retried_items: int = 0  # item re-sends after 429/5xx/connection errors

    @property
    def done(self) -> int:
        """Documents now in OpenSearch (created or already there)."""
        return self.indexed + self.duplicates


class BulkIndexer:
    """Indexes batches of :class:`~processors.storage.bulk.Doc` into OpenSearch.

    The aiohttp session is created on first use, inside the running event loop (faust
    builds agents before its loop runs). ``rand`` and ``sleep`` are parameters so the
    retry loop's timing is deterministic where a test needs it to be.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        max_docs: int = 2000,
        max_bytes: int = 8 * 1024 * 1024,
        backoff: BackoffPolicy | None = None,
        request_timeout_s: float = 120.0,
        concurrency: int = 2,
        rand: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.url = clients.opensearch_url(settings)
        self.max_docs = max_docs
        self.max_bytes = max_bytes
        self.backoff = backoff or BackoffPolicy()
        self._timeout_s = request_timeout_s
        self._concurrency = max(1, concurrency)
        self._rand = rand
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> BulkIndexer:
        """An indexer for ``settings.opensearch_url`` with the configured batch bounds."""
        options: dict[str, Any] = {
            "max_docs": settings.bulk_max_docs,
            "max_bytes": settings.bulk_max_bytes,
        }
        options.update(overrides)
        return cls(settings, **options)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session (a new one is opened if the indexer is used again)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = clients.opensearch_session(
                self.settings, timeout_s=self._timeout_s, limit=self._concurrency * 2
            )
        return self._session

    async def reachable(self, timeout_s: float = 2.0) -> str | None:
        """None when OpenSearch answers its root with 200; else why not (for ``/readyz``)."""
        try:
            async with self._http().get(
                self.url + "/", timeout=aiohttp.ClientTimeout(total=timeout_s)
            ) as response:
                if response.status == 200:
                    return None
                return f"OpenSearch answered HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"OpenSearch unreachable ({type(exc).__name__})"

    async def index(
        self,
        docs: Sequence[tuple[str, str, bytes]],
        bundles: Sequence[tuple[bytes, int]] = (),
    ) -> IndexResult:
        """Index every document; return once each is stored or rejected for good.

        ``bundles`` are bodies already encoded (logs.normalized records: ``(body, events)``,
        :mod:`bitacora.bundles`), posted as they are. Returns only
        after every document either is in OpenSearch (created, or a 409: it was already
        there) or was rejected with a per-document error (``result.rejected``: dead-letter
        those). Raises only on cancellation.
        """
        result = IndexResult()
        requests = plan_requests(
            [Doc(*doc) for doc in docs], bundles, self.max_docs, self.max_bytes
        )
        if len(requests) <= 1 or self._concurrency == 1:
            for request in requests:
                await self._index_chunk(request, result)
            return result
        gate = asyncio.Semaphore(self._concurrency)

        async def one(request: Request) -> None:
            async with gate:
                await self._index_chunk(request, result)

        await asyncio.gather(*(one(request) for request in requests))
        return result

    async def index_deadletters(
        self, records: Sequence[Mapping[str, Any]], *, stream: str = schema.DEADLETTER_STREAM
    ) -> IndexResult:
        """Index dead-letter records (deadletter.py) into ``stream`` with deterministic ids."""
        docs = [
            Doc(stream, deadletter_id(dict(record)), json.dumps(record).encode())
            for record in records
        ]
        return await self.index(docs)

    async def _index_chunk(self, request: Request, result: IndexResult) -> None:
        pending = request
        attempt = 0
        while pending.count:
            status, payload = await self._post(pending.body(), result)
            if status == 200 and payload is not None:
                outcome = classify_bulk_response(payload, pending.count)
                result.indexed += len(outcome.done) - outcome.duplicates
                result.duplicates += outcome.duplicates
                if not outcome.retry and not outcome.rejected:
                    return
                docs = await self._docs_or_parts(pending, result)
                if docs is None:
                    return
                result.rejected.extend(
                    RejectedDoc(docs[r.position], r.reason) for r in outcome.rejected
                )
                if not outcome.retry:
                    return
                pending = Request.of([docs[pos] for pos in outcome.retry])
                reason = f"{pending.count} items answered 429/5xx"
            elif status is not None and request_verdict(status) == "split":
                docs = await self._docs_or_parts(pending, result)
                if docs is None:
                    return
                if len(docs) == 1:
                    result.rejected.append(
                        RejectedDoc(
                            docs[0], f"bulk_request_refused: HTTP {status} for this document"
                        )
                    )
                    return
                # One document breaks the request (or it is too large): halve to isolate it.
                middle = len(docs) // 2
                await self._index_chunk(Request.of(docs[:middle]), result)
                await self._index_chunk(Request.of(docs[middle:]), result)
                return
            else:
                reason = "connection failed" if status is None else f"HTTP {status}"
            attempt += 1
            BULK_RETRIES.inc()
            result.retried_items += pending.count
            delay = self.backoff.delay(attempt, self._rand())
            log.warning(
                "bulk: %s; retrying %d items in %.2fs (attempt %d)",
                reason,
                pending.count,
                delay,
                attempt,
            )
            await self._sleep(delay)

    async def _docs_or_parts(self, request: Request, result: IndexResult) -> list[Doc] | None:
        """The request's documents; None once its bundles were indexed one by one because
        one cannot be read as bulk lines (that one goes to ``result.broken``, whole)."""
        try:
            return request.docs()
        except BadBundle:
            if len(request.parts) == 1:
                result.broken.append(request.parts[0])
                return None
        for part in request.parts:  # bundle_problem held: two lines per document
            await self._index_chunk(Request([part], part.count(b"\n") // 2), result)
        return None

    async def _post(self, body: bytes, result: IndexResult) -> tuple[int | None, Any]:
        """POST one bulk body: ``(status, parsed JSON)``, or ``(None, None)`` if unreachable."""
        result.requests += 1
        started = time.perf_counter()
        try:
            async with self._http().post(
                self.url + BULK_PATH, data=body, headers=JSON_HEADERS
            ) as response:
                raw = await response.read()
                if response.status != 200:
                    return response.status, None
                return 200, orjson.loads(raw)  # (its JSONDecodeError is a ValueError)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            # A timeout may hide a bulk that did succeed: the re-send meets 409s, not copies.
            log.warning("bulk: %s: %s", type(exc).__name__, exc)
            return None, None
        finally:
            BULK_SECONDS.observe(time.perf_counter() - started)
