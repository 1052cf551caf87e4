"""Bitácora watches itself: a worker's health, every minute, as a log event of its own.

Prometheus scrapes ``/metrics``; a team without Prometheus still gets paged, because each
worker also writes one event per role to ``logs.raw`` every ``health_event_interval_s``
(service: the app id, ``bitacora`` by default; dataset ``bitacora.health``). The event
goes through normalize like any log, so it is searchable, and the shipped rules
``bitacora-*`` (rules/shipped) alert on it: dead letters rising, a role's lag growing,
notifications failing. Its numbers land under ``labels.*``: ``lag``, ``lag_growth``
(since the last event), ``events_in_new``, ``deadletters_new``,
``notifications_sent_new`` and ``notifications_failed_new``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka.errors import KafkaError
from mode import Service
from prometheus_client import CollectorRegistry

from bitacora import rawrecord
from bitacora.processors.shell.produce import new_producer
from bitacora.rawrecord import RawRecord
from bitacora.settings import Settings

log = logging.getLogger("bitacora.processor")
TAG = "bitacora.health"
# The batch consumer of the alerting role is its route stage: report it as "alerting".
_REPORTED = {"alerting-route": "alerting"}


@dataclass(frozen=True, slots=True)
class RoleHealth:
    """Cumulative figures of one role on this worker (counters since start, lag now)."""

    lag: int = 0
    events_in: int = 0
    deadletters: int = 0
    notifications_sent: int = 0
    notifications_failed: int = 0


def read_health(registry: CollectorRegistry, roles: Iterable[str]) -> dict[str, RoleHealth]:
    """The figures of ``roles`` (batch role names) from the processor's registry."""
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for family in registry.collect():
        for sample in family.samples:
            role = sample.labels.get("role")
            if sample.name == "bitacora_consumer_lag" and role:
                sums[role]["lag"] += sample.value
            elif sample.name == "bitacora_events_in_total" and role:
                sums[role]["events_in"] += sample.value
            elif sample.name == "bitacora_deadletters_total" and role:
                sums[role]["deadletters"] += sample.value
            elif sample.name == "bitacora_notifications_sent_total":
                sums["alerting-route"]["notifications_sent"] += sample.value
            elif sample.name == "bitacora_notifications_failed_total":
                sums["alerting-route"]["notifications_failed"] += sample.value
    return {
        role: RoleHealth(**{name: int(value) for name, value in sums[role].items()})
        for role in roles
    }


def health_record(
    role: str,
    now: RoleHealth,
    before: RoleHealth,
    worker: str,
    now_ns: int,
    seq: int,
    service: str = "bitacora",
) -> RawRecord:
    """The raw record reporting ``role``'s health since ``before`` (pure)."""
    name = _REPORTED.get(role, role)
    new = {
        "lag_growth": now.lag - before.lag,
        "events_in_new": now.events_in - before.events_in,
        "deadletters_new": now.deadletters - before.deadletters,
        "notifications_sent_new": now.notifications_sent - before.notifications_sent,
        "notifications_failed_new": now.notifications_failed - before.notifications_failed,
    }
    troubled = new["deadletters_new"] > 0 or new["notifications_failed_new"] > 0
    message = (
        f"bitacora {name} on {worker}: lag {now.lag} ({new['lag_growth']:+d}), "
        f"{new['events_in_new']} read, {new['deadletters_new']} dead-lettered, "
        f"{new['notifications_failed_new']} notifications failed"
    )
    record = {
        "service": service,
        "event.dataset": TAG,
        "level": "warn" if troubled else "info",
        "message": message,
        "role": name,
        "worker": worker,
        "lag": now.lag,
        **new,
    }
    # A chunk id unique per worker, role and report keeps the event ids apart.
    return RawRecord(TAG, now_ns, record, now_ns, worker, "internal", f"{worker}/{name}/{seq}")


class HealthEvents(Service):
    """Produces the health records of ``roles`` every ``health_event_interval_s``."""

    def __init__(self, settings: Settings, registry: CollectorRegistry, roles: list[str]) -> None:
        super().__init__()
        self.settings = settings
        self.registry = registry
        self.roles = roles
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.before = {role: RoleHealth() for role in roles}
        self.seq = 0

    async def on_start(self) -> None:
        """Start the producer and the reporting loop."""
        self.producer = new_producer(self.settings, "health")
        await self.producer.start()
        self.add_future(self._report_every())

    async def on_stop(self) -> None:
        """Close the producer."""
        if not hasattr(self, "producer"):  # the worker stopped before this service started
            return
        with contextlib.suppress(KafkaError, TimeoutError):
            await asyncio.wait_for(self.producer.stop(), 10.0)

    async def _report_every(self) -> None:
        while not self.should_stop:
            await asyncio.sleep(self.settings.health_event_interval_s)
            try:
                await self.report()
            except KafkaError as exc:  # the next report carries the figures on
                log.warning("health event not produced: %s", exc)

    async def report(self) -> None:
        """Produce one record per role (acks=all) and remember the figures."""
        now = read_health(self.registry, self.roles)
        now_ns = time.time_ns()
        self.seq += 1
        for role in self.roles:
            app_id = self.settings.app_id
            before = self.before[role]
            record = health_record(role, now[role], before, self.worker, now_ns, self.seq, app_id)
            await self.producer.send_and_wait(
                self.settings.topic_raw, rawrecord.encode(record), key=app_id.encode()
            )
        self.before = now
