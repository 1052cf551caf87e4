"""ElastAlert2's ``debug`` alerter: log the subject (no payload, no secrets)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

from bitacora.rules.notify.destinations.base import Destination, DestinationKind, NoOptions

if TYPE_CHECKING:
    from bitacora.rules.alerts import Alert
    from bitacora.rules.notify.templates import Rendered

log = logging.getLogger("bitacora.notify")


class DebugDestination(Destination[NoOptions]):
    """Log one line per alert."""

    resolves: ClassVar[bool] = True

    async def send(self, alert: Alert, options: NoOptions, rendered: Rendered) -> None:
        """Log one line."""
        log.warning("alert %s: %s", alert.status, rendered.subject)


KIND = DestinationKind("debug", NoOptions, DebugDestination)
