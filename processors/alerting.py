"""The alerting role: the rules from ``Settings.rules_dir`` on ``logs.normalized``.

Wires :func:`processors.detect.register_detect` and :func:`processors.notify.register_notify`
onto one faust app; rule files are loaded (and rejected, with file, line and key) at start.
"""

from __future__ import annotations

import faust

from bitacora.settings import Settings
from processors.app import raw_topic
from processors.detect import register_detect
from processors.notify import register_notify
from rules.loader import load_rules, rules_dir_paths


def register_alerting(app: faust.App, settings: Settings) -> None:
    """Attach detect and notify to ``app`` for every rule configured."""
    rules = [loaded.rule for loaded in load_rules(rules_dir_paths(settings.rules_dir))]
    normalized = raw_topic(app, settings.topic_normalized)
    alerts = raw_topic(app, settings.topic_alerts)
    register_detect(app, normalized, alerts, rules, settings)
    register_notify(app, alerts, settings, rules)
