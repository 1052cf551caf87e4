"""ElastAlert2's ``aggregation`` on the stream (thin shell over ``rules.aggregation``).

Alerts of an aggregating rule reach the notify agent keyed by the rule
(``rules.aggregation.route_key``), so one worker holds all its groups (rule and
``aggregation_key`` value) and the realert state of its keys; the table writes each group
to that same partition (``group_partitioner``).
After notify's policy (realert, silences) lets a match through, :meth:`Aggregator.add`
joins it to its group in the Faust table ``notify-aggregation`` (changelog-backed: open
groups survive restarts and rebalances) instead of sending it. The timer
``notify-aggregation-flush`` sends each group whose period is over as one alert with its
summary; a crash between sending and writing repeats the page rather than losing it.
The same record keeps the group identity's incident (``rules.aggregation.Incident``): the
keys that fired into its sent group alert and the alert itself, re-sent to Alertmanager
while it fires; a key's resolve goes there (:meth:`Aggregator.resolve`), and the last
key's sends the group alert's resolve. The record goes once nothing is open or firing.
Each group key has its own lock, held while a join, a resolve, the flush or a re-send
reads, sends and stores that group: a re-send never overtakes the resolve that ends the
incident, and a slow destination delays no other group.
A match redelivered after a crash (same id, creation time and event) joins its group once;
distinct matches may share an alert id (same key and event time), so the id alone is not
enough.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from bitacora.processors.alerting.keyed_lock import KeyedLock
from bitacora.processors.app import NOTIFY_AGGREGATION, state_table
from bitacora.processors.shell.counters import COUNTERS
from bitacora.rules.aggregation import (
    Incident,
    closing,
    group_key,
    group_partitioner,
    group_prefix,
    join,
    resolve,
)
from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.settings import Settings

log = logging.getLogger("bitacora.notify")
FLUSH_INTERVAL_S = 1.0

# Sends one closed group's alert (deliver, keep for retry, index).
Send = Callable[[Alert, Rule], Awaitable[None]]


def _load(raw: bytes | None) -> Incident | None:
    if not raw:
        return None
    data = json.loads(raw)
    sent = data.get("sent")
    return Incident(
        until=data["until"],
        members=tuple(Alert.model_validate(a) for a in data["alerts"]),
        firing=tuple(data.get("firing", ())),
        sent=None if sent is None else Alert.model_validate(sent),
    )


def _same_record(alert: Alert, members: tuple[Alert, ...]) -> bool:
    # Top counts may differ when re-read, so they are not compared.
    mark = (alert.id, alert.created_at, alert.event)
    return any((a.id, a.created_at, a.event) == mark for a in members)


def _dump(known: Incident) -> bytes:
    data = {
        "until": known.until,
        "alerts": [alert.model_dump(mode="json") for alert in known.members],
        "firing": list(known.firing),
        "sent": None if known.sent is None else known.sent.model_dump(mode="json"),
    }
    return json.dumps(data, separators=(",", ":")).encode()


class Aggregator:
    """The incidents (open groups, firing keys) of this worker and how alerts are sent.

    ``locks`` orders the work on each group key (the notify agent and the timers all change
    groups); nothing holds a group's lock while another group's alert is sent.
    """

    def __init__(self, table: Any, rules: dict[str, Rule], send: Send) -> None:
        self.table = table
        self.rules = rules
        self.send = send
        self.locks = KeyedLock()
        self.sent = 0  # groups sent (for status pages and tests)

    def _keys(
        self, owned: Callable[[bytes], bool], wanted: Callable[[Incident], bool]
    ) -> list[bytes]:
        """The owned group keys whose incident is ``wanted``, peeked at without their locks
        (callers read each again under its lock): a group held by a slow delivery delays
        only work on that group, not a pass over the others."""
        out = []
        for key in list(self.table.keys()):
            if owned(key) and (known := _load(self.table.get(key))) is not None and wanted(known):
                out.append(key)
        return out

    def _store(self, key: bytes, known: Incident) -> None:
        if not known.finished():
            self.table[key] = _dump(known)
        elif self.table.get(key) is not None:
            del self.table[key]

    async def add(self, alert: Alert, rule: Rule, clock: float) -> None:
        """Join ``alert`` (created at ``clock``) to its group; send the group it closes."""
        key = group_key(alert, rule).encode()
        async with self.locks.hold(key):
            known = _load(self.table.get(key))
            if known is not None and _same_record(alert, known.members):
                return  # the same record redelivered after a crash: already counted
            closed, known = join(known, alert, rule, clock)
            if closed:
                await self._send(closed, rule, group=True)
            self._store(key, known)

    async def resolve(self, notice: Alert, rule: Rule) -> bool:
        """Apply a key's resolve to the incidents of ``rule`` (held in an open group holding
        its firing match, or ending a sent group alert's incident once its last key
        resolves); False when none concerns the key (the notice goes out alone)."""
        prefix = group_prefix(rule.name).encode()
        concerned = False
        mine = self._keys(lambda key: key.startswith(prefix), lambda k: resolve(k, notice)[2])
        for key in mine:
            async with self.locks.hold(key):
                if (known := _load(self.table.get(key))) is None:  # read again under the lock
                    continue
                sent, known, hit = resolve(known, notice)
                await self._send(sent, rule, group=False)
                self._store(key, known)
                concerned = concerned or hit
        return concerned

    async def flush(self, owned: Callable[[bytes], bool], now: float) -> None:
        """Close the open groups of owned keys whose period ended by ``now``."""
        for key in self._keys(owned, lambda known: known.until is not None and known.until <= now):
            async with self.locks.hold(key):
                known = _load(self.table.get(key))  # read again under the lock
                if known is None or known.until is None or known.until > now:
                    continue
                rule = self.rules.get(known.members[0].rule)
                if rule is None:  # the rule was removed: nobody to send to
                    del self.table[key]
                    continue
                closed, known = closing(known, rule)
                await self._send(closed, rule, group=True)
                self._store(key, known)

    async def resend_firing(self, owned: Callable[[bytes], bool], resend: Send) -> None:
        """Pass each sent group alert of owned keys whose incident still fires to ``resend``,
        under its group's lock (a resolve that ends the incident is not overtaken)."""
        for key in self._keys(owned, lambda known: bool(known.firing) and known.sent is not None):
            async with self.locks.hold(key):
                known = _load(self.table.get(key))  # read again under the lock
                if known is None or not known.firing or known.sent is None:
                    continue
                rule = self.rules.get(known.sent.rule)
                if rule is not None:
                    await resend(known.sent, rule)

    async def _send(self, alerts: list[Alert], rule: Rule, group: bool) -> None:
        """Send in order: a closed group's alert, then its incident's resolve if any."""
        for alert in alerts:
            await self.send(alert, rule)
        if group and alerts:
            self.sent += 1
            COUNTERS.add("notify", "aggregation", "sent")


def register_aggregation(
    app: faust.App,
    alerts_name: str,
    settings: Settings,
    rules: dict[str, Rule],
    send: Send,
) -> Aggregator:
    """Attach the aggregation table and its flush timer to ``app``."""
    placed = group_partitioner(settings.topic_partitions)
    table = state_table(app, NOTIFY_AGGREGATION, settings, partition_of=placed)
    aggregator = Aggregator(table, rules, send)

    @app.timer(FLUSH_INTERVAL_S, name="notify-aggregation-flush")  # type: ignore[untyped-decorator]
    async def flush_groups() -> None:
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == alerts_name}
        try:
            await aggregator.flush(lambda key: placed(key) in mine, time.time())
        except Exception:  # a failed flush is retried on the next tick
            log.exception("aggregation flush failed; retrying")

    return aggregator
