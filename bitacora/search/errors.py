"""Errors of searches against OpenSearch, with what the user should do about them."""

from __future__ import annotations

from typing import Any

from bitacora.errors import BitacoraError

CONNECTION_HINT = (
    "is OpenSearch running? start the local stack with `bitacora stack up` "
    "or point BITACORA_OPENSEARCH_URL at your cluster"
)
_MAX_REASON = 240


class BadQueryError(BitacoraError):
    """OpenSearch rejected the query (exit code 2): the message is its reason, shortened."""

    exit_code = 2


class SearchConnectionError(BitacoraError):
    """OpenSearch could not be reached (exit code 1)."""

    exit_code = 1


def shorten_reason(info: Any, limit: int = _MAX_REASON) -> str:
    """The most specific ``reason`` of an OpenSearch error body, on one short line.

    Query parse errors nest: ``search_phase_execution_exception`` → ``query_shard_exception``
    ("Failed to parse query [...]") → ``parse_exception`` ("Cannot parse ... Encountered
    ..."). The innermost ``caused_by`` says what is wrong; the outer ones only repeat it.
    """
    reason = _deepest_reason(info)
    if reason is None:
        reason = str(info) if info else "bad request"
    line = " ".join(reason.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _deepest_reason(info: Any) -> str | None:
    if isinstance(info, str):
        return info or None
    if not isinstance(info, dict):
        return None
    node: Any = info.get("error", info)
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return None
    # A shard failure is more specific than the phase failure that wraps it.
    failed = node.get("failed_shards") or []
    if failed and isinstance(failed[0], dict) and isinstance(failed[0].get("reason"), dict):
        node = failed[0]["reason"]
    elif node.get("root_cause") and not node.get("caused_by"):
        node = node["root_cause"][0]
    reason: str | None = node.get("reason") if isinstance(node, dict) else None
    while isinstance(node, dict) and isinstance(node.get("caused_by"), dict):
        node = node["caused_by"]
        reason = node.get("reason") or reason
    return reason
