"""Alertmanager API v2: ``POST /api/v2/alerts`` with a list of alerts.

Each alert: ``labels`` (``alertname``, ``rule``, ``key``, ``severity``, the rule's
``alertmanager_labels`` and ``alertmanager_fields``), ``annotations`` (``summary``,
``description``, ``alertmanager_annotations``), ``startsAt``, ``endsAt`` and
``generatorURL``. While firing, ``endsAt`` lies ``FIRING_TTL_S`` ahead and the notify agent
re-sends the alert (every ``RESEND_S``), so Alertmanager lets it lapse if Bitácora stops;
a resolve sets ``endsAt`` to the resolve time. Every host is sent every alert (the members
of an Alertmanager cluster do not share alerts); one host taking it is a delivery.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, ClassVar, Literal

from bitacora.durations import format_timestamp
from bitacora.fields import lookup
from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.retry import DestinationError
from bitacora.rules.notify.transport import CaCerts, ProxyUrl, Timeout
from bitacora.rules.option_types import StrList

log = logging.getLogger("bitacora.notify")

FIRING_TTL_S = 300.0
RESEND_S = 60.0


class AlertmanagerOptions(base.DestinationOptions):
    """``alertmanager``: ElastAlert2's Alertmanager alerter options (API v2)."""

    required = ("alertmanager_hosts",)

    alertmanager_hosts: StrList | None = None
    alertmanager_api_version: Literal["v2"] = "v2"
    alertmanager_alertname: str | None = None
    alertmanager_labels: dict[str, str] | None = None
    alertmanager_annotations: dict[str, str] | None = None
    alertmanager_fields: dict[str, str] | None = None
    # HTTP basic authentication for every host (the password: ``${NAME}`` from the
    # environment, docs/operations.md).
    alertmanager_basic_auth_login: str | None = None
    alertmanager_basic_auth_password: str | None = None
    alertmanager_timeout: Timeout = 10.0
    alertmanager_ca_certs: CaCerts = None
    alertmanager_ignore_ssl_errors: bool = False
    alertmanager_proxy: ProxyUrl = None

    transport_prefix = "alertmanager_"


def alertmanager_alerts(
    alert: base.Alert,
    options: AlertmanagerOptions,
    rendered: base.Rendered,
    started: str | None = None,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """The v2 body: a one-element list."""
    moment = time.time() if now is None else now
    labels = {
        "alertname": options.alertmanager_alertname or alert.rule,
        "rule": alert.rule,
        "key": alert.key,
        "severity": alert.severity,
    }
    labels.update(options.alertmanager_labels or {})
    for label, field in (options.alertmanager_fields or {}).items():
        value = lookup(alert.event, field)
        if value is not None:  # ElastAlert2 writes a missing field as "null"
            labels[label] = value if isinstance(value, str) else json.dumps(value)
    annotations = {"summary": rendered.subject, "description": rendered.body}
    annotations.update(options.alertmanager_annotations or {})
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


class AlertmanagerDestination(base.Destination[AlertmanagerOptions]):
    """POST to every ``alertmanager_hosts`` entry, as ElastAlert2 and Prometheus do: the
    members of an Alertmanager cluster share silences and what they notified, not alerts,
    so each member must be sent each alert."""

    resolves: ClassVar[bool] = True

    async def send(
        self, alert: base.Alert, options: AlertmanagerOptions, rendered: base.Rendered
    ) -> None:
        """Post the alert list to every host at once. Delivered when one host accepts (a
        member that missed it gets the next re-send while an alert of a resolving
        type fires, every ``RESEND_S``); the first host's error is raised when none does."""
        body = alertmanager_alerts(alert, options, rendered, alert.extra.get("started"))
        hosts = options.alertmanager_hosts or []
        login = options.alertmanager_basic_auth_login
        headers = (
            base.basic_auth(login, options.alertmanager_basic_auth_password or "")
            if login
            else None
        )
        transport = options.transport()
        outcomes = await asyncio.gather(
            *(
                base.post_json(
                    self.session, host.rstrip("/") + "/api/v2/alerts", body, headers, transport
                )
                for host in hosts
            ),
            return_exceptions=True,
        )
        failures = [
            (host, outcome)
            for host, outcome in zip(hosts, outcomes, strict=True)
            if isinstance(outcome, BaseException)
        ]
        for _host, outcome in failures:
            if not isinstance(outcome, DestinationError):
                raise outcome  # a bug, not an unreachable host
        if failures and len(failures) == len(hosts):
            raise failures[0][1]
        for host, outcome in failures:
            shown = base.shown_url(host)  # a host URL may carry credentials
            log.warning("alertmanager %s did not take alert %s: %s", shown, alert.id, outcome)


KIND = base.DestinationKind("alertmanager", AlertmanagerOptions, AlertmanagerDestination)
