"""Post rendered saved objects to OpenSearch Dashboards' ``_import`` API."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp

from bitacora.errors import DeliveryError

IMPORT_PATH = "/api/saved_objects/_import"
FILENAME = "bitacora-dashboards.ndjson"


def import_url(base_url: str) -> str:
    """``<base>/api/saved_objects/_import?overwrite=true`` (a base path is kept)."""
    return f"{base_url.rstrip('/')}{IMPORT_PATH}?overwrite=true"


def summarize_failure(status: int, payload: Any) -> str:
    """One line saying why Dashboards refused the import."""
    if isinstance(payload, dict):
        errors = payload.get("errors") or []
        if errors:
            first = errors[0]
            what = f"{first.get('type')}/{first.get('id')}"
            reason = first.get("error", {}).get("type", "error")
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return f"Dashboards refused {what}: {reason}{more}"
        if "message" in payload:
            return f"Dashboards answered {status}: {payload['message']}"
    return f"Dashboards answered {status}"


async def import_saved_objects(
    base_url: str,
    ndjson: str,
    *,
    user: str | None = None,
    password: str | None = None,
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """Upload ``ndjson`` as the multipart part ``file`` with ``osd-xsrf: true``.

    Returns Dashboards' answer (``{"success": true, "successCount": N}``); raises
    ``DeliveryError`` when the request fails or Dashboards reports errors.
    """
    form = aiohttp.FormData()
    form.add_field("file", ndjson.encode(), filename=FILENAME, content_type="application/ndjson")
    headers = {"osd-xsrf": "true"}
    if user is not None:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.post(import_url(base_url), data=form, headers=headers) as response,
        ):
            try:
                payload: Any = await response.json(content_type=None)
            except ValueError:
                payload = None
            if (
                response.status >= 400
                or not isinstance(payload, dict)
                or not payload.get("success")
            ):
                raise DeliveryError(summarize_failure(response.status, payload))
            return payload
    except aiohttp.ClientError as exc:
        raise DeliveryError(f"cannot reach OpenSearch Dashboards at {base_url}: {exc}") from exc
