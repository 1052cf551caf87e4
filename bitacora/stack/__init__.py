"""The local real stack (OpenSearch + Kafka) for machines without Docker.

Public API, used by ``bitacora stack`` and by the test fixtures::

    ensure_up(settings)                    # idempotent: fetch, start, wait until healthy
    stop(settings)                         # stop both (only the processes we started)
    start_service(settings, "kafka")       # one service alone (reliability tests)
    stop_service(settings, "opensearch")
    status(settings) -> list[ServiceStatus]
    reset(settings)                        # stop and wipe data
"""

from __future__ import annotations

from bitacora.stack.config import env_exports
from bitacora.stack.secure import secure_exports
from bitacora.stack.services import (
    ServiceStatus,
    ensure_up,
    log_paths,
    reset,
    start_service,
    status,
    stop,
    stop_service,
)

__all__ = [
    "ServiceStatus",
    "ensure_up",
    "env_exports",
    "log_paths",
    "reset",
    "secure_exports",
    "start_service",
    "status",
    "stop",
    "stop_service",
]
