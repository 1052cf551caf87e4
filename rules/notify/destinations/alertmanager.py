"""Alertmanager API v2: ``POST /api/v2/alerts`` with a list of alerts.

Each alert: ``labels`` (``alertname``, ``rule``, ``key``, ``severity``, the rule's
``alertmanager_labels`` and ``alertmanager_fields``), ``annotations`` (``summary``,
``description``, ``alertmanager_annotations``), ``startsAt``, ``endsAt`` and
``generatorURL``. While firing, ``endsAt`` lies ``FIRING_TTL_S`` ahead and the notify agent
re-sends the alert (every ``RESEND_S``), so Alertmanager lets it lapse if Bitácora stops;
a resolve sets ``endsAt`` to the resolve time. Hosts are tried in order until one accepts.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import aiohttp

from bitacora.durations import format_timestamp
from bitacora.fields import lookup
from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations.base import Destination, post_json
from bitacora.rules.notify.retry import DestinationError
from bitacora.rules.notify.templates import Rendered

FIRING_TTL_S = 300.0
RESEND_S = 60.0


def alertmanager_alerts(
    alert: Alert,
    rule: Rule,
    rendered: Rendered,
    started: str | None = None,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """The v2 body: a one-element list."""
    moment = time.time() if now is None else now
    labels = {
        "alertname": rule.alertmanager_alertname or rule.name,
        "rule": rule.name,
        "key": alert.key,
        "severity": alert.severity,
    }
    labels.update(rule.alertmanager_labels or {})
    for label, field in (rule.alertmanager_fields or {}).items():
        value = lookup(alert.event, field)
        if value is not None:
            labels[label] = str(value)
    annotations = {"summary": rendered.subject, "description": rendered.body}
    annotations.update(rule.alertmanager_annotations or {})
    ends = moment if alert.status == "resolved" else moment + FIRING_TTL_S
    return [
        {
            "labels": labels,
            "annotations": annotations,
            "startsAt": started or alert.first_event_time,
            "endsAt": format_timestamp(ends),
            "generatorURL": alert.search_url,
        }
    ]


class AlertmanagerDestination(Destination):
    """POST to the first reachable ``alertmanager_hosts`` entry."""

    name: ClassVar[str] = "alertmanager"
    resolves: ClassVar[bool] = True

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def send(self, alert: Alert, rule: Rule, rendered: Rendered) -> None:
        """Post the alert list; the last host's error is raised if none accepts."""
        body = alertmanager_alerts(alert, rule, rendered, alert.extra.get("started"))
        failure: DestinationError | None = None
        for host in rule.alertmanager_hosts or []:
            try:
                await post_json(self.session, host.rstrip("/") + "/api/v2/alerts", body)
                return
            except DestinationError as exc:
                failure = exc
        if failure is not None:
            raise failure
