"""Deterministic event ids: the same input event always gets the same ``event.id``.

The id is also the OpenSearch ``_id`` (``op_type=create``), so a retried forward chunk or a
re-consumed Kafka record lands on the document already stored instead of a duplicate.
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Final

# Copying a ready hash object skips the constructor's keyword parsing (once per event);
# the bound ``copy`` and the type's own methods skip the lookups by name.
_NEW_BLAKE2B_128: Final = blake2b(digest_size=16).copy
_UPDATE: Final = blake2b.update
_HEXDIGEST: Final = blake2b.hexdigest


def event_id(chunk: str | None, position: int, partition: int, offset: int, index: int = 0) -> str:
    """32 hex chars (blake2b-128).

    From the sender's chunk id and the event's position in it when the sender gave a chunk
    id (``c:<chunk>:<position>``), else from the raw record's Kafka partition and offset
    and the event's index in the record's bundle (``k:<partition>:<offset>``, and
    ``:<index>`` after the first: a record of one event keeps the id it had before
    bundles). Two identical lines differ by position, offset or index.
    """
    if chunk:
        key = f"c:{chunk}:{position}"
    elif index:
        key = f"k:{partition}:{offset}:{index}"
    else:
        key = f"k:{partition}:{offset}"
    digest = _NEW_BLAKE2B_128()
    _UPDATE(digest, key.encode("utf-8", "surrogatepass"))
    return _HEXDIGEST(digest)
