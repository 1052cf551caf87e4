"""Deliver one alert to the destinations its rule names, each with retries.

``Notifier.deliver`` never raises for a destination's failure: it reports which
destinations took the alert and which did not (with the reason), so the notify agent can
keep the alert and retry only those later (``DeliveryReport.retry``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations import DESTINATIONS
from bitacora.rules.notify.destinations.base import Destination
from bitacora.rules.notify.retry import DestinationError, RetryPolicy, Sleep, with_retries
from bitacora.rules.notify.templates import render
from bitacora.settings import Settings

log = logging.getLogger("bitacora.notify")


@dataclass
class DeliveryReport:
    """Which destinations took the alert, and which failed (name → reason)."""

    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    permanent: list[str] = field(default_factory=list)
    retry_after: float = 0.0  # the longest Retry-After a failed destination asked for

    @property
    def retry(self) -> list[str]:
        """Destinations worth trying again later."""
        return [name for name in self.failed if name not in self.permanent]


class Notifier:
    """Holds the destinations (one HTTP session for all) and the retry policy."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.destinations: dict[str, Destination[Any]] = {
            name: kind.sender(session, settings) for name, kind in DESTINATIONS.items()
        }

    def targets(self, alert: Alert, rule: Rule, only: Collection[str] | None = None) -> list[str]:
        """The destination names this alert goes to (resolves only where supported)."""
        names = []
        for name in rule.alert:
            destination = self.destinations[name]
            if alert.status == "resolved" and not destination.resolves:
                continue
            if only is None or name in only:
                names.append(name)
        return names

    async def deliver(
        self, alert: Alert, rule: Rule, only: Collection[str] | None = None
    ) -> DeliveryReport:
        """Send to every target concurrently, each with retries; report the outcome."""
        rendered = render(alert, rule)
        names = self.targets(alert, rule, only)
        report = DeliveryReport()

        async def one(name: str) -> None:
            destination = self.destinations[name]
            try:
                options = rule.options_for(name)
                await with_retries(
                    lambda: destination.send(alert, options, rendered), self.policy, self.sleep
                )
                report.sent.append(name)
            except DestinationError as exc:
                report.failed[name] = str(exc)
                if exc.permanent:
                    report.permanent.append(name)
                if exc.retry_after is not None:
                    report.retry_after = max(report.retry_after, exc.retry_after)
                log.warning("alert %s to %s failed: %s", alert.id, name, exc)

        await asyncio.gather(*(one(name) for name in names))
        return report


async def deliver_all(settings: Settings, rule: Rule, alerts: list[Alert]) -> list[DeliveryReport]:
    """Send ``alerts`` of ``rule`` now, one after the other (``bitacora rules test --alert``)."""
    async with aiohttp.ClientSession() as session:
        notifier = Notifier(settings, session)
        return [await notifier.deliver(alert, rule) for alert in alerts]
