"""The weekly review's health-check section: checks and failures per checked service.

Health-check lines carry the checked service and its status in ``labels.check`` (the
normalizer's health-check parser). ``labels`` is a ``flat_object``, and OpenSearch cannot
aggregate its paths reliably (a terms aggregation fails to reduce across shards: "Unknown
NamedWriteable DocValueFormat flat_object"), so the shell streams the week's health-check
events (a few thousand: one line per checked service every five minutes) and this pure
function counts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bitacora.fields import lookup

#: The ``_source`` fields the count needs.
HEALTH_FIELDS = ("@timestamp", "labels")


@dataclass(frozen=True)
class HealthCheckRow:
    """One checked service over the week."""

    service: str
    checks: int
    failures: int
    last_failure: str | None  # @timestamp of the latest failure


def summarize_health(sources: Iterable[Mapping[str, Any]]) -> list[HealthCheckRow]:
    """Rows per checked service, most failures first (then by name); events without a
    check result are skipped."""
    checks: dict[str, int] = {}
    failures: dict[str, int] = {}
    last: dict[str, str] = {}
    for source in sources:
        service = lookup(source, "labels.check.service")
        status = lookup(source, "labels.check.status")
        if not isinstance(service, str) or not isinstance(status, str):
            continue
        checks[service] = checks.get(service, 0) + 1
        if status == "fail":
            failures[service] = failures.get(service, 0) + 1
            stamp = str(lookup(source, "@timestamp"))
            last[service] = max(stamp, last.get(service, stamp))
    rows = [
        HealthCheckRow(name, count, failures.get(name, 0), last.get(name))
        for name, count in checks.items()
    ]
    return sorted(rows, key=lambda r: (-r.failures, r.service))
