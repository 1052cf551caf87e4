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
_COPY: Final = blake2b.copy
_UPDATE: Final = blake2b.update
_HEXDIGEST: Final = blake2b.hexdigest
# The last chunk's id and its hash state after ``c:<chunk>:``: a chunk's events come one
# after another, and each then hashes only its position (one item replaced, as a whole).
_last_chunk: list[tuple[str, blake2b]] = [("", blake2b(digest_size=16))]


def event_id(chunk: str | None, position: int, partition: int, offset: int, index: int = 0) -> str:
    """32 hex chars (blake2b-128).

    From the sender's chunk id and the event's position in it when the sender gave a chunk
    id (``c:<chunk>:<position>``), else from the raw record's Kafka partition and offset
    and the event's index in the record's bundle (``k:<partition>:<offset>``, and
    ``:<index>`` after the first: a record of one event keeps the id it had before
    bundles). Two identical lines differ by position, offset or index.
    """
    if chunk:
        last = _last_chunk[0]
        if last[0] != chunk:
            state = _NEW_BLAKE2B_128()
            _UPDATE(state, f"c:{chunk}:".encode("utf-8", "surrogatepass"))
            last = (chunk, state)
            _last_chunk[0] = last
        digest = _COPY(last[1])
        _UPDATE(digest, str(position).encode())
        return _HEXDIGEST(digest)
    key = f"k:{partition}:{offset}:{index}" if index else f"k:{partition}:{offset}"
    digest = _NEW_BLAKE2B_128()
    _UPDATE(digest, key.encode())
    return _HEXDIGEST(digest)
