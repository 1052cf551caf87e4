"""What a destination is, and the JSON-over-HTTP call most of them make."""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aiohttp

from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.retry import DestinationError, is_permanent, parse_retry_after
from bitacora.rules.notify.templates import Rendered


class Destination:
    """Sends one rendered alert somewhere; raises ``DestinationError`` on failure."""

    name: ClassVar[str] = ""
    resolves: ClassVar[bool] = False  # does it take resolve notices?

    async def send(self, alert: Alert, rule: Rule, rendered: Rendered) -> None:
        """Deliver ``alert`` once (retries are the caller's)."""
        raise NotImplementedError


def shown_url(url: str) -> str:
    """A URL safe for messages: webhook paths and queries hold secrets, so only the host."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    payload: Any,
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
) -> None:
    """POST ``payload`` as JSON; non-2xx answers and network errors raise ``DestinationError``."""
    all_headers = {"Content-Type": "application/json", "Accept": "application/json;charset=utf-8"}
    all_headers.update(headers or {})
    data = json.dumps(payload, ensure_ascii=False, default=str).encode()
    try:
        async with session.post(
            url, data=data, headers=all_headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
        ) as response:
            await response.read()
            if response.status < 300:
                return
            raise DestinationError(
                f"{shown_url(url)} answered HTTP {response.status}",
                status=response.status,
                retry_after=parse_retry_after(response.headers.get("Retry-After"), time.time()),
                permanent=is_permanent(response.status),
            )
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise DestinationError(f"{shown_url(url)} unreachable: {type(exc).__name__}") from exc
