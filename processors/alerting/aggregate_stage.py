"""ElastAlert2's ``aggregation`` on the stream (thin shell over ``rules.aggregation``).

Alerts of an aggregating rule reach the notify agent keyed by the rule
(``rules.aggregation.route_key``), so one worker holds all its groups (rule and
``aggregation_key`` value) and the realert state of its keys; the table writes each group
to that same partition (``group_partitioner``).
After notify's policy (realert, silences) lets a match through, :meth:`Aggregator.add`
joins it to its group in the Faust table ``notify-aggregation`` (changelog-backed: open
groups survive restarts and rebalances) instead of sending it. The timer
``notify-aggregation-flush`` sends each group whose period is over as one alert with its
summary, then removes it; a crash between the two repeats the page rather than losing it.
A resolve of a key whose firing match waits in an open group is held in that group
(:meth:`Aggregator.hold`) and sent right after the group's alert, never before it.
A match redelivered after a crash (same id, creation time and event) joins its group once;
distinct matches may share an alert id (same key and event time), so the id alone is not
enough.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from bitacora.processors.app import NOTIFY_AGGREGATION, state_table
from bitacora.processors.shell.counters import COUNTERS
from bitacora.rules.aggregation import (
    Group,
    closing,
    group_key,
    group_partitioner,
    group_prefix,
    hold,
    holding_group,
    join,
)
from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.settings import Settings

log = logging.getLogger("bitacora.notify")
FLUSH_INTERVAL_S = 1.0

# Sends one closed group's alert (deliver, keep for retry, index).
Send = Callable[[Alert, Rule], Awaitable[None]]


def _load(raw: bytes | None) -> Group | None:
    if not raw:
        return None
    data = json.loads(raw)
    return float(data["until"]), [Alert.model_validate(a) for a in data["alerts"]]


def _same_record(alert: Alert, members: list[Alert]) -> bool:
    # Top counts may differ when re-read, so they are not compared.
    mark = (alert.id, alert.created_at, alert.event)
    return any((a.id, a.created_at, a.event) == mark for a in members)


def _dump(group: Group) -> bytes:
    alerts = [alert.model_dump(mode="json") for alert in group[1]]
    return json.dumps({"until": group[0], "alerts": alerts}, separators=(",", ":")).encode()


class Aggregator:
    """The open groups of this worker and how a closed one is sent."""

    def __init__(self, table: Any, rules: dict[str, Rule], send: Send) -> None:
        self.table = table
        self.rules = rules
        self.send = send
        self.lock = asyncio.Lock()  # the agent and the timer both change groups
        self.sent = 0  # groups sent (for status pages and tests)

    async def add(self, alert: Alert, rule: Rule, clock: float) -> None:
        """Join ``alert`` (created at ``clock``) to its group; send the group it closes."""
        key = group_key(alert, rule).encode()
        async with self.lock:
            known = _load(self.table.get(key))
            if known is not None and _same_record(alert, known[1]):
                return  # the same record redelivered after a crash: already counted
            closed, group = join(known, alert, rule, clock)
            if closed:
                await self._send(closed, rule)
            self.table[key] = _dump(group)

    async def hold(self, resolve: Alert, rule: Rule) -> bool:
        """Hold ``resolve`` in the open group of ``rule`` that holds its key's firing match,
        to be sent after that group's alert; False when no open group does (send it now)."""
        prefix = group_prefix(rule.name).encode()
        async with self.lock:
            groups = []
            for key in list(self.table.keys()):
                if key.startswith(prefix) and (group := _load(self.table.get(key))) is not None:
                    groups.append((key, group))
            held = holding_group(groups, resolve)
            if held is None:
                return False
            group = dict(groups)[held]
            if not _same_record(resolve, group[1]):  # else redelivered after a crash
                self.table[held] = _dump(hold(group, resolve))
            return True

    async def flush(self, owned: Callable[[bytes], bool], now: float) -> None:
        """Send and remove the groups of owned keys whose period ended by ``now``."""
        for key in list(self.table.keys()):
            if not owned(key):
                continue
            async with self.lock:
                group = _load(self.table.get(key))  # read again under the lock
                if group is None or group[0] > now:
                    continue
                rule = self.rules.get(group[1][0].rule)
                if rule is not None:
                    await self._send(closing(group[1], rule), rule)
                del self.table[key]

    async def _send(self, alerts: list[Alert], rule: Rule) -> None:
        """Send a closed group: its alert, then the resolves held in it, in that order."""
        for alert in alerts:
            await self.send(alert, rule)
        self.sent += 1
        COUNTERS.add("notify", "aggregation", "sent")


def register_aggregation(
    app: faust.App, alerts_name: str, settings: Settings, rules: dict[str, Rule], send: Send
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
