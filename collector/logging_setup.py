"""Two lines for a service's own Python code to ship its ``logging`` records to Bitácora.

    from bitacora.collector.logging_setup import setup_fluent_logging
    setup_fluent_logging("review-service", host="bitacora-collector", port=24224)

Records go through fluent-logger's ``FluentHandler`` (forward protocol, EventTime with
nanoseconds) as structured maps: level, logger, message, service, source location, the
exception's type, message and stack trace, and ``trace_id`` / ``span_id`` when the record
carries them (``extra={"trace_id": ...}`` or a filter setting those attributes).
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fluent.handler import FluentHandler

# Attributes every LogRecord has: everything else came from ``extra`` and is kept.
_STANDARD = frozenset(
    vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None)).keys()
    | {"message", "asctime", "taskName"}
)
_TRACE_FIELDS = ("trace_id", "span_id")


class StructuredFormatter(logging.Formatter):
    """Formats a LogRecord as the map Bitácora's normalizer expects (ECS-like names)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> dict[str, Any]:  # type: ignore[override]  # FluentHandler sends the map itself
        """The record as a plain map."""
        data: dict[str, Any] = {
            "service": self.service,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "module": record.module,
            "func": record.funcName,
            "line": record.lineno,
            "thread": record.threadName,
            "process": record.process,
        }
        if record.exc_info and record.exc_info[1] is not None:
            exc_type, exc, tb = record.exc_info
            data["error.type"] = exc_type.__name__ if exc_type else type(exc).__name__
            data["error.message"] = str(exc)
            data["error.stack_trace"] = "".join(traceback.format_exception(exc_type, exc, tb))
        elif record.exc_text:
            data["error.stack_trace"] = record.exc_text
        if record.stack_info:
            data["stack_info"] = record.stack_info
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                data[name] = value if isinstance(value, str | int | float | bool) else str(value)
        for name in _TRACE_FIELDS:  # normalize the names OpenTelemetry's logging hook uses
            otel = getattr(record, "otel" + name.replace("_", ""), None)
            if otel and name not in data and otel not in ("0", "0" * 16, "0" * 32):
                data[name] = str(otel)
        return data


def setup_fluent_logging(
    service: str,
    *,
    host: str = "127.0.0.1",
    port: int = 24224,
    tag: str | None = None,
    level: int = logging.INFO,
    logger: logging.Logger | None = None,
) -> FluentHandler:
    """Attach a FluentHandler with the structured formatter to ``logger`` (default: root).

    The tag defaults to ``<service>.app``. Returns the handler (``close()`` it to flush at
    exit; ``logging.shutdown`` does that too).
    """
    handler = FluentHandler(
        tag or f"{service}.app", host=host, port=port, nanosecond_precision=True
    )
    handler.setFormatter(StructuredFormatter(service))
    target = logger if logger is not None else logging.getLogger()
    target.addHandler(handler)
    if target.level == logging.NOTSET or target.level > level:
        target.setLevel(level)
    return handler
