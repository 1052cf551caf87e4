"""Detection: ``logs.normalized`` → rules → ``alerts`` (thin shells over rules.engine).

Two stages, so every (rule, query key) lives on exactly one worker however many run:

1. Route (:meth:`processors.alerting.detector.Detector.route_values`, run in batches by
   :mod:`processors.alerting.route_stage` in its own consumer group) finds for each
   normalized event the rules whose filter matches (``RuleSet``: prefilter, then
   matcher), emits alerts of stateless rules (any, blacklist, whitelist) directly, and
   forwards the rest to the internal topic
   ``<app id>-alerting-detect-keyed``: one record per partition per batch, holding each event once
   and its (rule, query key) items (:mod:`processors.alerting.keyed_records`), in the partition of
   the query key (every rule's state for one key value on one partition). Flatline rules
   usually see every event, so their events are pre-aggregated per key and second within
   a batch (one item with a weight). An event matching a rule's ``resolve_filter`` is
   forwarded to that rule's key as a recovery item (weight ``RESOLVE_WEIGHT``).
2. The faust agent ``detect-eval`` reads that keyed topic and evaluates with the key's
   state from the Faust table ``detect-state`` (changelog topic
   ``<app id>-alerting-detect-state-changelog``: the windows, seen terms, pending resolves and the
   realert period survive restarts and rebalances). A firing match within its key's
   realert period is held back there (rules.engine.hold_realerted), since notify would
   only suppress it. The table writes a key's changelog to its keyed-topic
   partition whoever writes it, so the tick timer may update states outside stream
   iteration; it only touches keys of partitions this worker owns (not standby copies).

State values are compact JSON bytes, decoded once per record and written back once per
record and key, only when they changed (flatline states change at most once a second),
which keeps changelog traffic small. Each stage's input offsets count as done only after
what it produced was handed on: at least once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import faust

from bitacora.processors.alerting.detector import Detector
from bitacora.processors.alerting.keyed_records import rule_of
from bitacora.processors.alerting.state_cache import StateCache
from bitacora.processors.app import DETECT_KEYED, DETECT_STATE, internal_topic, state_table
from bitacora.processors.shell.counters import ALERTING_STATE
from bitacora.rules.aggregation import route_key
from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.settings import Settings

__all__ = ["register_detect"]

TICK_INTERVAL_S = 1.0
# The evaluator takes keyed records together, so a key's state is written once per batch.
# Larger waits mean fewer, fuller batches for at most that much more alert latency.
EVAL_BATCH = 200
EVAL_WITHIN_S = 0.5


def register_detect(
    app: faust.App, alerts_topic: Any, rules: Sequence[Rule], settings: Settings
) -> Detector:
    """Attach the eval agent, its keyed topic, state table and tick timer to ``app``.

    The route stage runs beside the app on the returned detector
    (:class:`processors.alerting.route_stage.RouteRole`). ``alerts_topic`` is a raw-bytes
    faust topic (processors.app.raw_topic); alerts go out keyed by their ``dedup_key`` (their
    aggregation group when the rule aggregates) so the notify agent sees a key in order.
    """
    detector = Detector(rules, settings)
    keyed = internal_topic(app, DETECT_KEYED, settings)
    keyed_name = keyed.get_topic_name()
    table = state_table(app, DETECT_STATE, settings, detector.partition_of)
    cache = StateCache()

    def drop_states(names: set[str]) -> None:
        """Delete the states of ``names`` this worker owns (a changed rule starts afresh)."""
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == keyed_name}
        for tkey in list(table.keys()):
            if rule_of(tkey) in names and detector.partition_of(tkey) in mine:
                cache.store(table, tkey, table.get(tkey), {}, idle=True)

    detector.drop_states = drop_states

    async def send_alerts(alerts: list[Alert]) -> None:
        detector.count_alerts(alerts)
        for alert in alerts:
            crule = detector.rules.get(alert.rule)
            key = route_key(alert, crule.rule if crule is not None else None)
            await alerts_topic.send(key=key, value=alert.to_json())

    @app.agent(keyed, name="detect-eval")
    async def detect_eval(stream: Any) -> None:
        # Records taken together share one state load and write per key (changelog
        # traffic), and are acknowledged only after their states were written.
        async for values in stream.take(EVAL_BATCH, within=EVAL_WITHIN_S):
            await send_alerts(detector.evaluate_values(cache, table, values, time.time()))

    @app.timer(TICK_INTERVAL_S, name="detect-tick")  # type: ignore[untyped-decorator]
    async def detect_tick() -> None:
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == keyed_name}
        owned = lambda tkey: detector.partition_of(tkey) in mine  # noqa: E731 - tiny predicate
        await send_alerts(detector.tick_all(cache, table, owned, time.time()))
        ALERTING_STATE.set(len(table))

    return detector
