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
    """OpenSearch rejected the query (bad input, exit 2): the message is its reason, shortened."""


class SearchConnectionError(BitacoraError):
    """OpenSearch could not be reached or answered with an error (exit 3)."""


def shorten_reason(info: Any, limit: int = _MAX_REASON) -> str:
    """The most telling ``reason`` of an OpenSearch error body, on one short line.

    Query parse errors nest: ``search_phase_execution_exception`` → ``query_shard_exception``
    ("Failed to parse query [...]") → ``parse_exception`` ("Cannot parse ... Encountered
    ..."). The parse reason names the query and the position; otherwise the innermost
    ``caused_by`` says what is wrong and the outer ones only repeat it.
    """
    reasons = _reasons(info)
    # Lucene's "Cannot parse '<query>': Encountered ... column 7." names the query and the
    # spot; its "Was expecting one of: ..." tail is a token list nobody reads.
    parse = [r for r in reasons if r.startswith("Cannot parse")]
    reason = (
        parse[0] if parse else reasons[-1] if reasons else (str(info) if info else "bad request")
    )
    reason = reason.split("Was expecting", 1)[0]
    line = " ".join(reason.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _reasons(info: Any) -> list[str]:
    """The ``reason`` chain of an error body, outermost first."""
    if isinstance(info, str):
        return [info] if info else []
    if not isinstance(info, dict):
        return []
    node: Any = info.get("error", info)
    if isinstance(node, str):
        return [node]
    if not isinstance(node, dict):
        return []
    # A shard failure is more specific than the phase failure that wraps it.
    failed = node.get("failed_shards") or []
    if failed and isinstance(failed[0], dict) and isinstance(failed[0].get("reason"), dict):
        node = failed[0]["reason"]
    elif node.get("root_cause") and not node.get("caused_by"):
        node = node["root_cause"][0]
    reasons = []
    while isinstance(node, dict):
        if isinstance(node.get("reason"), str) and node["reason"]:
            reasons.append(node["reason"])
        node = node.get("caused_by")
    return reasons
