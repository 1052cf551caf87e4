"""The alerting role's first stage: ``logs.normalized`` → keyed records and stateless alerts.

A thin shell over :meth:`processors.alerting.detector.Detector.route_values` on a
:class:`processors.shell.batch.BatchRole`, in the consumer group ``<app id>-alerting-route``.
A batch role rather than a faust agent: faust's per-message path was most of the alerting
role's CPU (py-spy: 89% of the role with one rule).

A batch's keyed records go to the faust app's ``<app id>-alerting-detect-keyed`` topic
(one record per partition, see processors.alerting.keyed_records) and the alerts of stateless
rules to ``alerts``, keyed by their dedup key; the batch counts as done once Kafka holds
all of them. Flatline counts are flushed with their batch, so nothing is held across
batches and a crash repeats a batch rather than losing part of it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable

from bitacora import bundles, schema
from bitacora.processors.alerting.detector import Detector
from bitacora.processors.app import DETECT_KEYED, Role, internal_topic_name
from bitacora.processors.normalize.stage import Output
from bitacora.processors.shell.batch import BatchRole, Held, Record
from bitacora.processors.shell.counters import role_counters
from bitacora.processors.shell.produce import Sink, enqueue, settle
from bitacora.processors.storage.bulk import record_sources
from bitacora.rules.aggregation import route_key
from bitacora.settings import Settings

log = logging.getLogger("bitacora.processor")
ROLE = schema.ALERTING_ROUTE
# Up to this many events per batch, waiting at most this long for it to fill: a batch costs
# one keyed record per partition, so fuller batches cost less, for a bounded extra latency.
ROUTE_BATCH = 1000
ROUTE_WITHIN_S = 0.1


class RouteHandler:
    """Routes batches of normalized events; done once Kafka holds what they produced."""

    def __init__(self, detector: Detector, sink: Sink, keyed_topic: str, alerts_topic: str) -> None:
        self.detector = detector
        self.sink = sink
        self.keyed_topic = keyed_topic
        self.alerts_topic = alerts_topic
        self.events_out = role_counters(ROLE).events_out

    async def submit(self, records: list[Record]) -> Awaitable[None] | None:
        """Route ``records`` and hand their keyed records and alerts to the producer."""
        if not records:
            return None
        values = [doc for r in records for doc in record_sources(r.value, r.headers)]
        alerts, batch = self.detector.route_values(values, time.time())
        outputs = [Output(self.keyed_topic, None, value, None, p) for p, value in batch.records()]
        rules = self.detector.rules
        outputs += [
            Output(self.alerts_topic, route_key(a, rules[a.rule].rule), a.to_json()) for a in alerts
        ]
        self.detector.count_alerts(alerts)
        self.events_out.inc(len(outputs))
        if not outputs:
            return None
        return settle(self.sink, await enqueue(self.sink.producer, outputs))

    def held(self) -> Held:
        """Nothing is held across batches."""
        return {}


class RouteRole(BatchRole):
    """The route stage's consumer group and producer, beside the alerting role's faust app."""

    def __init__(self, settings: Settings, detector: Detector) -> None:
        super().__init__(
            settings,
            name=ROLE,
            topics=[settings.topic_normalized],
            max_records=ROUTE_BATCH,
            within_s=ROUTE_WITHIN_S,
            weigh=bundles.weight,
        )
        self.detector = detector

    async def open_handler(self) -> RouteHandler:
        """Start the producer."""
        self.sink = Sink(self.settings, ROLE)
        await self.sink.start()
        keyed = internal_topic_name(self.settings.app_id, Role.ALERTING, DETECT_KEYED)
        return RouteHandler(self.detector, self.sink, keyed, self.settings.topic_alerts)

    async def close_handler(self) -> None:
        """Flush and close the producer."""
        await self.sink.stop()
