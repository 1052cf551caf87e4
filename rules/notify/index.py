"""Index alerts in ``bitacora-alerts`` (a data stream: ``op_type=create``, id = alert id)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bitacora import schema
from bitacora.settings import Settings
from rules.notify.retry import DestinationError, is_permanent


class AlertIndexer:
    """Writes alert documents; a 409 (already indexed) counts as done."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        index_name: str = schema.ALERTS_STREAM,
    ) -> None:
        self.index_name = index_name
        self.url = settings.opensearch_url.rstrip("/")
        self.session = session
        self.auth = (
            aiohttp.BasicAuth(
                settings.opensearch_user,
                settings.opensearch_password.get_secret_value()
                if settings.opensearch_password
                else "",
            )
            if settings.opensearch_user
            else None
        )

    async def index(self, doc_id: str, document: dict[str, Any]) -> None:
        """Create the document; raise ``DestinationError`` when OpenSearch refuses."""
        url = f"{self.url}/{self.index_name}/_create/{doc_id}"
        try:
            async with self.session.put(
                url,
                data=json.dumps(document, default=str).encode(),
                headers={"Content-Type": "application/json"},
                auth=self.auth,
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
