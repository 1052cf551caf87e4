"""Which asyncio event loop the stream processes (collector, processor) run on.

Their loops wake for every socket read and write, timer and finished task: the forward,
HTTP and OTLP connections, the Kafka clients' fetches and produce requests, the bulk
requests. uvloop runs that in C (libuv) where CPython's own loop runs it in Python, so the
same work costs less CPU (docs/capacity.md: ``bench.run`` with ``BITACORA_EVENT_LOOP`` set
to each). ``BITACORA_EVENT_LOOP=asyncio`` is the way back to CPython's loop; the code is the
same on both (only asyncio's public API).
"""

from __future__ import annotations

import asyncio

from bitacora.settings import EventLoop


def use_event_loop(kind: EventLoop) -> None:
    """Make the loops this process creates from now on (``asyncio.run``, mode's and faust's
    workers) be ``kind``'s: the event loop policy is process-wide, like the setting."""
    if kind == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    else:
        asyncio.set_event_loop_policy(None)
