"""deploy/prometheus: the alert rules pass promtool (check and unit tests), and every metric
the rules and the Grafana dashboard query is one Bitácora exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bitacora.collector.metrics import CollectorMetrics
from bitacora.processors.shell.counters import REGISTRY

DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
PROMETHEUS_OWN = {"up"}
NAME = re.compile(r"\b(bitacora_[a-z_]+|up)\b")


def _exported() -> set[str]:
    names: set[str] = set()
    for registry in (REGISTRY, CollectorMetrics().registry):
        for family in registry.collect():
            names.update(family.name + s for s in SUFFIXES.get(family.type, ("",)))
    return names


def _rule_exprs() -> list[str]:
    groups = yaml.safe_load((DIR / "alerts.yaml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def _dashboard() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((DIR / "grafana-dashboard.json").read_text())
    return loaded


def _dashboard_exprs() -> list[str]:
    panels = _dashboard()["panels"]
    assert isinstance(panels, list)
    return [target["expr"] for panel in panels for target in panel["targets"]]


def test_every_queried_metric_is_exported() -> None:
    exported = _exported() | PROMETHEUS_OWN
    for expr in _rule_exprs() + _dashboard_exprs():
        unknown = set(NAME.findall(expr)) - exported
        assert not unknown, f"{expr!r} queries {sorted(unknown)}, which nothing exports"


def test_the_issue_metrics_are_exported() -> None:
    assert {
        "bitacora_events_in_total",
        "bitacora_events_out_total",
        "bitacora_consumer_lag",
        "bitacora_bulk_duration_seconds_bucket",
        "bitacora_bulk_retries_total",
        "bitacora_deadletters_total",
        "bitacora_rule_matches_total",
        "bitacora_notifications_sent_total",
        "bitacora_notifications_failed_total",
        "bitacora_alerting_state_keys",
    } <= _exported()


def test_dashboard_structure() -> None:
    dashboard = _dashboard()
    panels = dashboard["panels"]
    assert isinstance(panels, list)
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: run scripts/system-deps --tests", pytrace=False)
    return found


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run(
        [_promtool(), "check", "rules", "alerts.yaml"],
        cwd=DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 9 rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = subprocess.run(
        [_promtool(), "test", "rules", "alerts_test.yaml"],
        cwd=DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
