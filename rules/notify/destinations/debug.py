"""ElastAlert2's ``debug`` alerter: log the subject (no payload, no secrets)."""

from __future__ import annotations

import logging
from typing import ClassVar

from bitacora.rules.notify.destinations import base

log = logging.getLogger("bitacora.notify")


class DebugDestination(base.Destination[base.NoOptions]):
    """Log one line per alert."""

    resolves: ClassVar[bool] = True

    async def send(
        self, alert: base.Alert, options: base.NoOptions, rendered: base.Rendered
    ) -> None:
        """Log one line."""
        log.warning("alert %s: %s", alert.status, rendered.subject)


KIND = base.DestinationKind("debug", base.NoOptions, DebugDestination)
