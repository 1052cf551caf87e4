"""The destination registry: ElastAlert2 alerter name → options model and sender.

Each destination is one module of this folder declaring ``KIND`` (see ``base``); adding one
is one module and one entry below. The rule model and ``rules/schema.json`` take every
destination's options from here.
"""

from __future__ import annotations

from typing import Any

from bitacora.rules.notify.destinations import (
    alertmanager,
    debug,
    email,
    pagerduty,
    slack,
    webhook,
)
from bitacora.rules.notify.destinations.base import DestinationKind

DESTINATIONS: dict[str, DestinationKind[Any]] = {
    kind.name: kind
    for kind in (
        webhook.KIND,
        slack.KIND,
        email.KIND,
        pagerduty.KIND,
        alertmanager.KIND,
        debug.KIND,
    )
}
