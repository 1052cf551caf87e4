"""The alerting role: the rules from ``Settings.rules_dir`` on ``logs.normalized``.

Two services in one worker: the route stage (:class:`processors.alerting.route_stage.RouteRole`, a
batch consumer of ``logs.normalized``) and a faust app carrying the eval agent, its state
table (:func:`processors.alerting.detect_stage.register_detect`) and notify
(:func:`processors.alerting.notify_stage.register_notify`). Rule files are loaded (and
rejected, with file, line and key) at start, and reloaded when they change
(:mod:`processors.alerting.reload`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import faust

from bitacora.processors.alerting.detect_stage import register_detect
from bitacora.processors.alerting.notify_stage import register_notify
from bitacora.processors.alerting.reload import Changes, RuleReloader
from bitacora.processors.alerting.route_stage import RouteRole
from bitacora.processors.app import raw_topic
from bitacora.rules.loader import load_configured_rules
from bitacora.rules.model import Rule
from bitacora.settings import Settings

log = logging.getLogger(__name__)


def register_alerting(
    app: faust.App, settings: Settings, env: Mapping[str, str]
) -> tuple[RouteRole, RuleReloader]:
    """Attach detect and notify to ``app`` for every rule configured.

    Returns the route stage and the rule reloader (services beside the app). ``env``
    resolves ``${NAME}`` references in rule files and the destinations file. Rule
    warnings (ElastAlert2 options Bitácora ignores, alerters it lacks) are logged once.
    """
    loaded_rules = load_configured_rules(settings, env)
    for loaded in loaded_rules:
        for warning in loaded.warnings:
            log.warning("rule %s: %s", loaded.rule.name, warning)
    rules = [loaded.rule for loaded in loaded_rules]
    alerts = raw_topic(app, settings.topic_alerts)
    detector = register_detect(app, alerts, rules, settings)
    notify = register_notify(app, alerts, settings, rules)
    detector.silenced = notify.silenced

    def apply(new: list[Rule], changes: Changes) -> None:
        detector.replace_rules(new)
        notify.rules = {rule.name: rule for rule in new}
        detector.drop_states({*changes.changed, *changes.removed})

    return RouteRole(settings, detector), RuleReloader(settings, env, rules, apply)
