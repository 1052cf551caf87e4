"""Sources whose raw records carry a protocol's structure instead of a sender's map.

Forward and HTTP records are the sender's own map, read through the field aliases
(``processors.normalize.extract``). OTLP and syslog records hold what their protocol
defines; a *source* turns one into ``(fields, pinned)``: ``fields`` is a map read like a
sender's record (aliases, then ``labels``), ``pinned`` holds event-table values the
protocol states outright (``service.name``, ``log.level``, ``@time`` ...), which win over
anything found in ``fields`` or in the message (``@level`` alone is a fallback: the
message's own level wins). A source raises ``DecodeError`` for a
record it cannot read (the event is dead-lettered with that reason).

One module per protocol and one entry in :data:`SOURCES`, keyed by the raw record's
``transport``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from bitacora.processors.normalize.sources.otlp import from_otlp
from bitacora.processors.normalize.sources.syslog import from_syslog

Source = Callable[[dict[Any, Any], int], tuple[dict[Any, Any], dict[str, Any]]]

SOURCES: Final[dict[str, Source]] = {"otlp": from_otlp, "syslog": from_syslog}

__all__ = ["SOURCES", "Source"]
