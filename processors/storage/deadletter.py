"""The ``_id`` under which a dead letter is indexed into ``bitacora-deadletter``.

The record itself is built by bitacora/deadletter.py (the collector writes them too); this
is what only storage needs.
"""

from __future__ import annotations

import hashlib
from typing import Any


def deadletter_id(record: dict[str, Any]) -> str:
    """A deterministic ``_id`` for a dead letter: a replayed failure is stored once.

    Built from where the original was read (stage, topic, partition, offset) when known,
    else from the stage, event id and the digest of the stored original.
    """
    dl = record["deadletter"]
    if "partition" in dl and "offset" in dl:
        key = f"{dl['stage']}|{dl.get('topic', '')}|{dl['partition']}|{dl['offset']}"
    else:
        event_id = record.get("event", {}).get("id", "")
        key = f"{dl['stage']}|{event_id}|{dl['original']}"
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
