"""Deterministic event ids: the same input event always gets the same ``event.id``.

The id is also the OpenSearch ``_id`` (``op_type=create``), so a retried forward chunk or a
re-consumed Kafka record lands on the document already stored instead of a duplicate.
"""

from __future__ import annotations

from hashlib import blake2b

# Copying a ready hash object skips the constructor's keyword parsing (once per event).
_BLAKE2B_128 = blake2b(digest_size=16)


def event_id(chunk: str | None, position: int, partition: int, offset: int) -> str:
    """32 hex chars (blake2b-128).

    From the sender's chunk id and the event's position in it when the sender gave a chunk
    id (``c:<chunk>:<position>``), else from the raw record's Kafka partition and offset
    (``k:<partition>:<offset>``). Two identical lines differ by position or offset.
    """
    key = f"c:{chunk}:{position}" if chunk else f"k:{partition}:{offset}"
    digest = _BLAKE2B_128.copy()
    digest.update(key.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
