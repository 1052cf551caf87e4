"""Bundles: Kafka records that carry many events, on ``logs.raw`` and ``logs.normalized``.

Kafka's per-record work (the clients' record objects and bookkeeping, the broker's
validation) is paid once per record, so the collector writes a request's events per
service as one record, and the normalize role a batch's documents per service. The
``events`` header counts a bundle's events; a record without it holds one event, as
records did before bundles, and is still read. What a bundle's value is depends on the
topic: raw records back to back (``bitacora.rawrecord.events_of``), or ``_bulk`` lines
(:func:`bulk_line`; ``processors.storage.bulk.record_sources`` reads them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, Final

import orjson

EVENTS_HEADER: Final = "events"
_DUMPS: Final = orjson.dumps  # a module's attribute is looked up on every use


def header(events: int) -> list[tuple[str, bytes]]:
    """The headers of a bundle of ``events``."""
    return [(EVENTS_HEADER, str(events).encode())]


def events_in(headers: Sequence[tuple[str, bytes]]) -> int | None:
    """How many events a record bundles; None for a record of one event.

    A header that is not a positive count still marks a bundle (counted as one event).
    """
    for name, value in headers:
        if name == EVENTS_HEADER:
            text = bytes(value)
            return int(text) if text.isdigit() and int(text) > 0 else 1
    return None


def weight(records: Sequence[Any]) -> int:
    """The events of Kafka records (aiokafka's, with ``headers``)."""
    return sum(events_in(r.headers) or 1 for r in records)


def join(values: Sequence[bytes], limit: int) -> Iterator[tuple[bytes, int]]:
    """``(value, events)``: ``values`` joined in order into values of at most ``limit``
    bytes, each as full as the next value allows. No value may be longer than ``limit``."""
    start = 0
    size = 0
    for pos, value in enumerate(values):
        if pos > start and size + len(value) > limit:
            yield b"".join(values[start:pos]), pos - start
            start, size = pos, 0
        size += len(value)
    if start < len(values):
        yield b"".join(values[start:]), len(values) - start


def action_head(index: str) -> bytes:
    """The start of a ``create`` action line for ``index``; the ``_id`` and ``}}\\n`` follow."""
    return b'{"create":{"_index":' + json.dumps(index).encode() + b',"_id":'


def bulk_line(head: bytes, doc_id: str, source: bytes) -> bytes:
    """One document's two ``_bulk`` lines: its action (``head`` + ``_id``), its source.

    Joined in one copy (once per event in the normalize stage, which is compiled with
    this module): concatenating the parts copied the source once per ``+``.
    """
    return b"".join((head, _DUMPS(doc_id), b"}}\n", source, b"\n"))
