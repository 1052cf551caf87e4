"""The notify agents: ``alerts`` → policy → destinations and ``bitacora-alerts`` (thin shell).

- ``notify`` reads alerts (keyed by ``dedup_key``), decides with ``rules.notify.policy``
  (dedup, realert, exponential_realert, silences, resolves) using the Faust table
  ``notify-state`` (changelog-backed: realert periods survive restarts), delivers, then
  records the new state, so a crash between delivery and commit repeats a page rather
  than losing one (PagerDuty and Alertmanager dedup it by key). Every alert is indexed in
  ``bitacora-alerts`` with what was done (``notify.action``, ``sent``, ``failed``).
- Undeliverable alerts are kept: destinations that still fail after the in-call retries
  (and index writes OpenSearch refused) go to ``<app id>-alerting-notify-retry``; ``notify-retry``
  retries them after a growing delay (30 s doubling to 10 min), forever, until delivered
  or refused for good (4xx).
- Matches of rules with ``aggregation`` are grouped and sent per period, one incident per
  group identity; its keys' resolves go to it and the last one resolves it
  (``processors.alerting.aggregate_stage``).
- Silences come from the compacted topic ``alerts.silences`` (``processors.alerting.silences``).
- While an Alertmanager alert of a resolving type (frequency, flatline) fires, it is
  re-sent every ``RESEND_S`` so its ``endsAt`` keeps moving ahead; for an aggregating rule,
  the group's alert once sent, until its incident resolves (never a member match).
- A re-send must not overtake the resolve of the same alert: the agent and the re-send
  timer hold the key's lock (``NotifyService.key_locks``, by ``dedup_key``; for a group
  alert, the aggregator's lock of its group, taken after the key's) while they read its
  state and deliver. Locks are per key: a slow Alertmanager delays the key it is
  delivering, never another key.
- The alerts the agent takes together are handled in lanes (``processors.alerting.lanes``:
  per ``dedup_key``, per aggregating rule), concurrently, each lane in order; the batch is
  indexed and acknowledged once every lane is done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import faust

from bitacora import clients, schema
from bitacora.processors.alerting.aggregate_stage import Aggregator, register_aggregation
from bitacora.processors.alerting.keyed_lock import KeyedLock
from bitacora.processors.alerting.lanes import in_lanes
from bitacora.processors.alerting.silences import SilenceFollower
from bitacora.processors.alerting.top_counts_stage import TopCountsQuery
from bitacora.processors.app import NOTIFY_RETRY, NOTIFY_STATE, internal_topic, state_table
from bitacora.processors.shell.counters import (
    COUNTERS,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_SENT,
)
from bitacora.rules.aggregation import aggregates, group_partitioner, state_partitioner
from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations.alertmanager import RESEND_S
from bitacora.rules.notify.destinations.base import Destination
from bitacora.rules.notify.index import AlertIndexer
from bitacora.rules.notify.notifier import DeliveryReport, Notifier
from bitacora.rules.notify.policy import active_silence, decide, resend_state, resent
from bitacora.rules.notify.retry import DestinationError, RetryPolicy
from bitacora.rules.notify.silences import SILENCES_TOPIC
from bitacora.settings import Settings

log = logging.getLogger("bitacora.notify")
# The notify agent takes up to this many alerts at a time, waiting at most this long.
NOTIFY_BATCH = 500
NOTIFY_WITHIN_S = 0.1


def retry_delay(attempt: int, first_s: float = 30.0) -> float:
    """Seconds before the ``attempt``-th later retry: 30 s doubling, at most 10 minutes."""
    return float(min(600.0, first_s * 2 ** max(0, attempt - 1)))


def count_report(report: DeliveryReport) -> None:
    """Count a delivery's sent and failed notifications per destination."""
    for name in report.sent:
        NOTIFICATIONS_SENT.labels(name).inc()
    for name in report.failed:
        NOTIFICATIONS_FAILED.labels(name).inc()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


class NotifyService:
    """What the notify agents share: rules, notifier, indexer, silences."""

    def __init__(
        self,
        settings: Settings,
        rules: Sequence[Rule],
        destinations: Mapping[str, Destination[Any]] | None,
        policy: RetryPolicy | None,
        alerts_index: str | None,
        silences_topic: str,
    ) -> None:
        self.settings = settings
        self.aggregator: Aggregator | None = None  # open aggregation groups
        self.rules = {rule.name: rule for rule in rules}
        self.extra_destinations = dict(destinations or {})
        self.policy = policy
        self.alerts_index = alerts_index
        self.silences = SilenceFollower(settings, silences_topic)
        self.session: aiohttp.ClientSession | None = None  # the destinations'
        self.opensearch: aiohttp.ClientSession | None = None  # the alerts data stream's
        self.notifier: Notifier | None = None
        self.indexer: AlertIndexer | None = None
        self.handled = 0  # alerts decided (for status pages and tests)
        self.redelivered = 0  # later retries that went through
        self.resent = 0  # Alertmanager re-sends of firing alerts
        self.resend_ticks = 0  # completed runs of the re-send timer
        self.key_locks = KeyedLock()  # by notify-state key: a key's deliveries in order
        self.actions: list[str] = []  # recent decisions, newest last (bounded)
        self.top_counts = TopCountsQuery(settings)

    @property
    def rules(self) -> dict[str, Rule]:
        """The running rules by name."""
        return self._rules

    @rules.setter
    def rules(self, rules: dict[str, Rule]) -> None:
        # A reload replaces them: the aggregator sends closed groups by the same rules.
        self._rules = rules
        if self.aggregator is not None:
            self.aggregator.rules = rules

    def start(self) -> Notifier:
        """Create the HTTP session and destinations inside the running loop (once)."""
        if self.notifier is None:
            self.session = aiohttp.ClientSession()
            self.notifier = Notifier(self.settings, self.session, self.policy)
            self.notifier.destinations.update(self.extra_destinations)
            if self.alerts_index is not None:
                self.opensearch = clients.opensearch_session(self.settings, timeout_s=None)
                self.indexer = AlertIndexer(self.settings, self.opensearch, self.alerts_index)
        return self.notifier

    async def close(self) -> None:
        """Close the HTTP sessions (the app is shutting down)."""
        if self.session is not None:
            await self.session.close()
        if self.opensearch is not None:
            await self.opensearch.close()
        await self.top_counts.close()

    async def index_many(self, docs: Sequence[dict[str, Any]]) -> list[bool]:
        """Index alert documents in one request; per document, False when OpenSearch did
        not take it (and may later)."""
        if self.indexer is None:
            return [True] * len(docs)
        errors = await self.indexer.index_many([(self.doc_id(doc), doc) for doc in docs])
        out = []
        for doc, error in zip(docs, errors, strict=True):
            if error is not None:
                log.warning("alert %s not indexed: %s", doc.get("id"), error)
            out.append(error is None or error.permanent)
        return out

    def silenced(self, rule: str, key: str, now: float) -> bool:
        """Whether a silence covers ``rule`` and ``key`` at ``now``."""
        return active_silence(self.silences.silences.values(), rule, key, now) is not None

    @staticmethod
    def doc_id(doc: dict[str, Any]) -> str:
        """The ``bitacora-alerts`` id of an alert document: alert id and action."""
        return str(doc["id"]) + "-" + str(doc["notify"]["action"])

    async def index(self, doc: dict[str, Any]) -> bool:
        """Index one alert document; False when OpenSearch did not take it."""
        if self.indexer is None:
            return True
        try:
            await self.indexer.index(self.doc_id(doc), doc)
            return True
        except DestinationError as exc:
            log.warning("alert %s not indexed: %s", doc.get("id"), exc)
            return exc.permanent

    def document(
        self, alert: Alert, action: str, report: DeliveryReport | None, silence: Any
    ) -> dict[str, Any]:
        """The ``bitacora-alerts`` document: the alert plus what notify did with it."""
        rule = self.rules.get(alert.rule)
        doc = alert.to_document(rule is not None and rule.include_match_in_root)
        doc["notify"] = {
            "action": action,
            "sent": sorted(report.sent) if report else [],
            "failed": dict(report.failed) if report else {},
            "silence": silence.get("id") if silence else None,
        }
        return doc


def register_notify(
    app: faust.App,
    alerts_topic: Any,
    settings: Settings,
    rules: Sequence[Rule],
    destinations: Mapping[str, Destination[Any]] | None = None,
    *,
    policy: RetryPolicy | None = None,
    alerts_index: str | None = schema.ALERTS_STREAM,
    silences_topic: str = SILENCES_TOPIC,
    first_retry_s: float = 30.0,
    alertmanager_resend_s: float = RESEND_S,
) -> NotifyService:
    """Attach the notify agents, their state table, retry topic and timers to ``app``.

    ``destinations`` adds or replaces destinations by alerter name (tests, extensions);
    ``alerts_index=None`` skips indexing (tests without OpenSearch); ``first_retry_s`` is
    the delay before the first later retry of an undelivered alert (then doubling);
    ``alertmanager_resend_s`` how often firing Alertmanager alerts are re-sent.
    """
    service = NotifyService(settings, rules, destinations, policy, alerts_index, silences_topic)
    retry_topic = internal_topic(app, NOTIFY_RETRY, settings)
    # A key's state lives on the partition its alerts arrive on (rules.aggregation).
    placed = state_partitioner(lambda: service.rules, settings.topic_partitions)
    table = state_table(app, NOTIFY_STATE, settings, partition_of=placed)
    alerts_name = alerts_topic.get_topic_name()

    async def keep(
        kind: str, payload: dict[str, Any], attempt: int, at_least_s: float = 0.0
    ) -> None:
        delay = max(retry_delay(attempt, first_retry_s), at_least_s)
        record = {"kind": kind, "attempt": attempt, "not_before": time.time() + delay, **payload}
        await retry_topic.send(key=str(payload.get("id", "")).encode(), value=_dumps(record))

    async def handle(alert: Alert) -> dict[str, Any]:
        """Decide, deliver and record the state; the alert document to index."""
        notifier = service.start()
        rule = service.rules.get(alert.rule)
        key = alert.dedup_key.encode()
        if rule is None:
            return service.document(alert, "unknown_rule", None, None)
        # The re-send timer must not overtake this alert's resolve: the key's lock orders them.
        async with service.key_locks.hold(key):
            raw = table.get(key)
            now = time.time()
            silences = service.silences.silences.values()
            try:
                fired_at = alert.created()
            except ValueError:
                fired_at = now
            state_before = json.loads(raw) if raw else None
            decision = decide(alert, rule, state_before, silences, now, fired_at)
            grouped = decision.action == "send" and aggregates(alert, rule)
            # A resolve of an aggregating rule goes to the incidents its key fired into.
            held = (
                decision.action == "send"
                and alert.status == "resolved"
                and rule.aggregation is not None
                and service.aggregator is not None
                and await service.aggregator.resolve(alert, rule)
            )
            sending = decision.action == "send" and not grouped and not held
            if decision.action == "send" and service.top_counts.wanted(alert, rule):
                await service.top_counts.annotate(alert, rule)
            report = await notifier.deliver(alert, rule) if sending else None
            if report is not None and report.retry:
                payload = {"id": alert.id, "alert": alert.model_dump(), "only": report.retry}
                await keep("deliver", payload, 1, report.retry_after)
            state = resend_state(rule, decision.state, alert if sending else None)
            stored = _dumps(state)
            if stored != raw:  # a suppressed alert leaves the state as it was: no write
                table[key] = stored
        action = "aggregated" if grouped or held else decision.action
        if grouped and service.aggregator is not None:
            await service.aggregator.add(alert, rule, fired_at)
        COUNTERS.add("notify", "decision", action)
        if report is not None:
            count_report(report)
        return service.document(alert, action, report, decision.silence)

    async def send_group(alert: Alert, rule: Rule) -> None:
        """Deliver and index a closed aggregation group's alert; keep what failed."""
        report = await service.start().deliver(alert, rule)
        count_report(report)
        if report.retry:
            payload = {"id": alert.id, "alert": alert.model_dump(), "only": report.retry}
            await keep("deliver", payload, 1, report.retry_after)
        doc = service.document(alert, "send", report, None)
        if not await service.index(doc):
            await keep("index", {"id": doc["id"], "doc": doc}, 1)
        service.actions = [*service.actions[-99:], "send"]

    service.aggregator = register_aggregation(app, alerts_name, settings, service.rules, send_group)
    grouped_at = group_partitioner(settings.topic_partitions)

    async def close_session(*_args: Any, **_kwargs: Any) -> None:
        await service.close()

    app.on_before_shutdown.connect(close_session)

    @app.task  # type: ignore[untyped-decorator]
    async def follow_silences() -> None:
        await service.silences.run()

    @app.agent(alerts_topic, name="notify")
    async def notify_agent(stream: Any) -> None:
        # Alerts taken together are indexed in one request; their offsets are acknowledged
        # only after that, so a crash repeats them rather than losing their documents.
        async for values in stream.take(NOTIFY_BATCH, within=NOTIFY_WITHIN_S):
            alerts = []
            for value in values:
                try:
                    alerts.append(Alert.model_validate_json(value))
                except ValueError:
                    log.warning("ignoring a malformed alert record")
            docs = await in_lanes(alerts, service.rules, handle)
            for doc, indexed in zip(docs, await service.index_many(docs), strict=True):
                if not indexed:
                    await keep("index", {"id": doc["id"], "doc": doc}, 1)
                action = str(doc["notify"]["action"])
                if action != "unknown_rule":
                    service.handled += 1
                    service.actions = [*service.actions[-99:], action]

    @app.agent(retry_topic, name="notify-retry")
    async def notify_retry(stream: Any) -> None:
        async for value in stream:
            record = json.loads(value)
            wait = float(record["not_before"]) - time.time()
            if wait > 0:
                await asyncio.sleep(min(wait, 600.0))
            attempt = int(record["attempt"]) + 1
            if record["kind"] == "index":
                if not await service.index(record["doc"]):
                    await keep("index", {"id": record["id"], "doc": record["doc"]}, attempt)
                continue
            alert = Alert.model_validate(record["alert"])
            rule = service.rules.get(alert.rule)
            if rule is None:
                continue  # the rule was removed: nobody to deliver to
            report = await service.start().deliver(alert, rule, only=record["only"])
            count_report(report)
            service.redelivered += len(report.sent)
            if report.retry:
                payload = {"id": alert.id, "alert": record["alert"], "only": report.retry}
                await keep("deliver", payload, attempt, report.retry_after)

    async def resend(alert: Alert, rule: Rule) -> None:
        if resent(rule):
            await service.start().deliver(alert, rule, only=["alertmanager"])
            service.resent += 1

    @app.timer(alertmanager_resend_s, name="notify-alertmanager-resend")  # type: ignore[untyped-decorator]
    async def resend_firing() -> None:
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == alerts_name}
        for key in list(table.keys()):
            if placed(key) not in mine:
                continue
            async with service.key_locks.hold(key):
                raw = table.get(key)  # read again under the lock: a resolve may have won
                state = json.loads(raw) if raw else {}
                if state.get("status") != "firing" or "am" not in state:
                    continue
                alert = Alert.model_validate(state["am"])
                rule = service.rules.get(alert.rule)
                if rule is not None:
                    await resend(alert, rule)
        if service.aggregator is not None:  # sent group alerts whose incident still fires
            await service.aggregator.resend_firing(lambda key: grouped_at(key) in mine, resend)
        service.resend_ticks += 1

    return service
