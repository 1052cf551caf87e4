"""The alerts recorded in ``bitacora-alerts*``, newest first (``bitacora alerts list``)."""

from __future__ import annotations

from typing import Any

from opensearchpy import OpenSearch

from bitacora import schema
from bitacora.durations import format_timestamp


def alerts_query(start: float, rule: str | None, limit: int) -> dict[str, Any]:
    """The search body: alerts at or after ``start`` (epoch seconds), of ``rule`` if given."""
    filters: list[dict[str, Any]] = [{"range": {"@timestamp": {"gte": format_timestamp(start)}}}]
    if rule:
        filters.append({"term": {"rule": rule}})
    return {"size": limit, "query": {"bool": {"filter": filters}}, "sort": [{"@timestamp": "desc"}]}


def recent_alerts(
    client: OpenSearch,
    start: float,
    rule: str | None = None,
    limit: int = 50,
    index: str = schema.ALERTS_PATTERN,
) -> list[dict[str, Any]]:
    """The stored alert documents matching ``alerts_query``, newest first."""
    result = client.search(
        index=index,
        body=alerts_query(start, rule, limit),
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    return [hit["_source"] for hit in result["hits"]["hits"]]
