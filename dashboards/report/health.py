"""The weekly review's health-check section: checks and failures per checked service.

Health-check lines carry the checked service and its status in ``labels.check`` (the
normalizer's health-check parser). ``labels`` is a ``flat_object``: a terms aggregation on
one of its paths works, but OpenSearch also returns a bucket named after a Java object
(``java.lang.Object@…``) for the object itself; parsing drops it (``exclude`` with a regex
is refused on flat_object paths).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bitacora.dashboards.report.queries import Body, time_filter

_SERVICE = "labels.check.service"
_STATUS = "labels.check.status"
_JUNK = "java.lang."  # flat_object's bucket for the object itself


@dataclass(frozen=True)
class HealthCheckRow:
    """One checked service over the week."""

    service: str
    checks: int
    failures: int
    last_failure: str | None  # @timestamp of the latest failure


def health_body(start: datetime, end: datetime, services: Sequence[str], size: int = 200) -> Body:
    """Checks and failures per checked service between ``start`` and ``end``."""
    return {
        "size": 0,
        "query": {
            "bool": {
                "filter": [
                    time_filter(start, end),
                    {"terms": {"service.name": list(services)}},
                    {"exists": {"field": _STATUS}},
                ]
            }
        },
        "aggs": {
            "service": {
                "terms": {"field": _SERVICE, "size": size + 1},
                "aggs": {
                    "failed": {
                        "filter": {"term": {_STATUS: "fail"}},
                        "aggs": {"last": {"max": {"field": "@timestamp"}}},
                    }
                },
            }
        },
    }


def parse_health(answer: Mapping[str, Any]) -> list[HealthCheckRow]:
    """Rows, most failures first (then by name)."""
    rows = []
    for bucket in answer.get("aggregations", {}).get("service", {}).get("buckets", []):
        if str(bucket["key"]).startswith(_JUNK):
            continue
        failed = bucket["failed"]
        last = failed["last"].get("value_as_string") if failed["doc_count"] else None
        rows.append(
            HealthCheckRow(str(bucket["key"]), bucket["doc_count"], failed["doc_count"], last)
        )
    return sorted(rows, key=lambda r: (-r.failures, r.service))
