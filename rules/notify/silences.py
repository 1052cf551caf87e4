"""Silences as plain records: ``bitacora alerts silence RULE [--key K] --for 2h``.

Stored in the compacted Kafka topic ``alerts.silences`` (key = silence id, value = JSON,
an empty value deletes): the notify agents of every worker read the whole topic and keep
it in memory, so a silence works the moment it is written and even while OpenSearch is
down, and the CLI lists silences by reading the same topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from bitacora.durations import format_timestamp

SILENCES_TOPIC = "alerts.silences"


def new_silence(
    rule: str, key: str | None, duration_s: float, comment: str, now: float, created_by: str = ""
) -> dict[str, Any]:
    """A silence record for ``rule`` (every key when ``key`` is None) until ``now + duration``."""
    return {
        "id": uuid.uuid4().hex[:16],
        "rule": rule,
        "key": key,
        "until": now + duration_s,
        "until_text": format_timestamp(now + duration_s),
        "comment": comment,
        "created_at": format_timestamp(now),
        "created_by": created_by,
    }


def unexpired(silences: Iterable[Mapping[str, Any]], now: float) -> list[Mapping[str, Any]]:
    """The silences still in force at ``now``, soonest expiry first."""
    return sorted(
        (s for s in silences if float(s.get("until", 0)) > now), key=lambda s: float(s["until"])
    )
