"""Index alerts in ``bitacora-alerts`` (a data stream: ``op_type=create``, id = alert id)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson

from bitacora import clients, schema
from bitacora.rules.notify.retry import DestinationError, is_permanent
from bitacora.settings import Settings


class AlertIndexer:
    """Writes alert documents; a 409 (already indexed) counts as done.

    ``session`` comes from :func:`bitacora.clients.opensearch_session` (auth and TLS).
    """

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        index_name: str = schema.ALERTS_STREAM,
    ) -> None:
        self.index_name = index_name
        self.url = clients.opensearch_url(settings)
        self.session = session

    async def index(self, doc_id: str, document: dict[str, Any]) -> None:
        """Create the document; raise ``DestinationError`` when OpenSearch refuses."""
        url = f"{self.url}/{self.index_name}/_create/{doc_id}"
        try:
            async with self.session.put(
                url,
                data=json.dumps(document, default=str).encode(),
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as response:
                body = await response.text()
                if response.status < 300 or response.status == 409:
                    return
                raise DestinationError(
                    f"OpenSearch answered {response.status}: {body[:200]}",
                    status=response.status,
                    permanent=is_permanent(response.status),
                )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DestinationError(f"OpenSearch unreachable: {type(exc).__name__}") from exc

    async def index_many(
        self, documents: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[DestinationError | None]:
        """Create many documents in one ``_bulk`` request; per document, None when it is
        indexed (or already was) or the ``DestinationError`` OpenSearch gave for it."""
        if not documents:
            return []
        lines: list[bytes] = []
        for doc_id, document in documents:
            lines.append(orjson.dumps({"create": {"_index": self.index_name, "_id": doc_id}}))
            lines.append(_document_json(document))
        body = b"\n".join(lines) + b"\n"
        try:
            async with self.session.post(
                f"{self.url}/_bulk",
                data=body,
                headers={"Content-Type": "application/x-ndjson"},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as response:
                text = await response.text()
                if response.status >= 300:
                    error = DestinationError(
                        f"OpenSearch answered {response.status}: {text[:200]}",
                        status=response.status,
                        permanent=is_permanent(response.status),
                    )
                    return [error] * len(documents)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = DestinationError(f"OpenSearch unreachable: {type(exc).__name__}")
            return [error] * len(documents)
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {}
        return _item_errors(answer, len(documents))


def _document_json(document: dict[str, Any]) -> bytes:
    """A document as JSON: orjson (NaN becomes null, which OpenSearch accepts), or the
    json module for what orjson refuses (non-string keys, huge integers)."""
    try:
        return orjson.dumps(document, default=str)
    except TypeError:
        return json.dumps(document, default=str).encode()


def _item_errors(answer: dict[str, Any], count: int) -> list[DestinationError | None]:
    """Per-document outcome of a ``_bulk`` answer: a 409 (already indexed) counts as done."""
    items = answer.get("items") or []
    if len(items) != count:
        error = DestinationError(f"OpenSearch answered {len(items)} items for {count}")
        return [error] * count
    out: list[DestinationError | None] = []
    for item in items:
        result: dict[str, Any] = next(iter(item.values()), {})
        status = int(result.get("status", 500))
        if status < 300 or status == 409:
            out.append(None)
            continue
        reason = json.dumps(result.get("error"))[:200]
        out.append(
            DestinationError(
                f"OpenSearch answered {status}: {reason}",
                status=status,
                permanent=is_permanent(status),
            )
        )
    return out
