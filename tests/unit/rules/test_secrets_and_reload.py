"""${ENV} substitution, the destinations file, ConfigMap-style folders and the reload plan."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bitacora.errors import RuleError
from bitacora.processors.alerting.reload import Changes, RuleReloader, plan, refused_files
from bitacora.processors.shell.counters import REGISTRY
from bitacora.rules.loader import load_destinations, load_rules, parse_rule_text
from bitacora.rules.model import Rule
from bitacora.settings import Settings

RULE = """\
name: {name}
type: any
filter:
  - term:
      log.level: error
alert: [slack]
{extra}
"""


def _rule(name: str, extra: str = "") -> str:
    return RULE.format(name=name, extra=extra)


def test_env_references_are_substituted() -> None:
    rule = parse_rule_text(
        _rule("a", 'slack_webhook_url: "https://hooks.example/${HOOK}"\nalert_text: "$${KEEP}"'),
        "a.yaml",
        env={"HOOK": "T0/B1/xyz"},
    )
    assert rule.slack_webhook_url == ["https://hooks.example/T0/B1/xyz"]
    assert rule.alert_text == "${KEEP}"


def test_a_missing_variable_is_refused_with_its_name_file_line_and_key() -> None:
    text = _rule("a", 'slack_webhook_url: "${NOPE}"\nalert_subject: "${ALSO_NOT}"')
    with pytest.raises(RuleError) as caught:
        parse_rule_text(text, "rules/a.yaml", env={})
    assert str(caught.value) == (
        "rules/a.yaml:7: key 'slack_webhook_url': environment variable 'NOPE' is not set; "
        "rules/a.yaml:8: key 'alert_subject': environment variable 'ALSO_NOT' is not set"
    )


def test_destinations_file_gives_defaults_a_rule_may_override(tmp_path: Path) -> None:
    destinations = tmp_path / "destinations.yaml"
    destinations.write_text('slack_webhook_url: "${SLACK}"\npagerduty_service_key: "${PD_KEY}"\n')
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text(_rule("a"))
    (rules / "b.yaml").write_text(_rule("b", 'slack_webhook_url: "https://own"'))
    env = {"SLACK": "https://shared", "PD_KEY": "routing-key"}
    loaded = {
        item.rule.name: item.rule
        for item in load_rules([rules], env=env, destinations_file=destinations)
    }
    assert loaded["a"].slack_webhook_url == ["https://shared"]
    assert loaded["a"].pagerduty_service_key == "routing-key"
    assert loaded["b"].slack_webhook_url == ["https://own"]


def test_destinations_file_errors_name_file_line_and_key(tmp_path: Path) -> None:
    destinations = tmp_path / "d.yaml"
    destinations.write_text('slack_webhook_url: "x"\nname: sneaky\n')
    with pytest.raises(RuleError, match=r"d\.yaml:2: key 'name': not a destination option"):
        load_destinations(destinations, {})
    destinations.write_text("num_events: 3\n")  # a rule option, not a destination's
    with pytest.raises(RuleError, match=r"d\.yaml:1: key 'num_events': not a destination"):
        load_destinations(destinations, {})
    destinations.write_text('http_post_timeout: "${T}"\n')
    with pytest.raises(RuleError, match=r"d\.yaml:1: key 'http_post_timeout': .*'T' is not set"):
        load_destinations(destinations, {})
    with pytest.raises(RuleError, match=r"d\.yaml:1: key 'http_post_timeout': Input should be"):
        load_destinations(destinations, {"T": "soon"})


def test_configmap_version_folders_are_skipped(tmp_path: Path) -> None:
    # kubelet's layout: ..<timestamp>/ holds the files, ..data links to it, names link in.
    version = tmp_path / "..2026_12_05_19_00_00.123"
    version.mkdir()
    (version / "a.yaml").write_text(_rule("a", "slack_webhook_url: u"))
    (tmp_path / "..data").symlink_to(version.name)
    (tmp_path / "a.yaml").symlink_to("..data/a.yaml")
    loaded = load_rules([tmp_path], env={"X": "y"})
    assert [(item.rule.name, item.path.name) for item in loaded] == [("a", "a.yaml")]


def _parsed(name: str, extra: str = "") -> Rule:
    return parse_rule_text(_rule(name, 'slack_webhook_url: "u"\n' + extra))


def test_plan_compares_by_name_and_definition() -> None:
    running = {r.name: r for r in (_parsed("keep"), _parsed("edit"), _parsed("drop"))}
    new = [_parsed("keep"), _parsed("edit", "alert_subject: changed"), _parsed("add")]
    assert plan(running, new) == Changes(
        added=("add",), changed=("edit",), removed=("drop",), unchanged=("keep",)
    )


def test_refused_files_are_read_from_the_loader_error() -> None:
    error = RuleError("/r/a.yaml:3: unknown key 'x'; /r/a.yaml:5: key 'y': bad\n/r/b.yml:1: z")
    assert refused_files(error) == ["/r/a.yaml", "/r/b.yml"]


def _sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_a_bad_new_file_keeps_the_running_rules(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a.yaml").write_text(_rule("a", 'slack_webhook_url: "${HOOK}"'))
    settings = Settings(rules_dir=tmp_path)
    env = {"HOOK": "https://h"}
    first = [item.rule for item in load_rules([tmp_path], env=env)]
    applied: list[tuple[list[str], Changes]] = []
    reloader = RuleReloader(
        settings,
        env,
        first,
        lambda rules, changes: applied.append(([r.name for r in rules], changes)),
    )
    refused_before = _sample("bitacora_rules_reloads_total", outcome="refused") or 0.0
    bad = tmp_path / "b.yaml"
    bad.write_text(_rule("b", "bogus: 1"))
    with caplog.at_level(logging.ERROR, logger="bitacora.rules"):
        assert reloader.reload() is None
    assert applied == []
    assert f"{bad}:7: unknown key 'bogus'" in caplog.text
    assert _sample("bitacora_rules_file_refused", file=str(bad)) == 1.0
    assert _sample("bitacora_rules_reloads_total", outcome="refused") == refused_before + 1
    assert _sample("bitacora_rules_loaded") == 1.0
    bad.write_text(_rule("b", 'slack_webhook_url: "${HOOK}"'))
    changes = reloader.reload()
    assert changes == Changes(added=("b",), changed=(), removed=(), unchanged=("a",))
    assert applied == [(["a", "b"], changes)]
    assert _sample("bitacora_rules_file_refused", file=str(bad)) is None
    assert _sample("bitacora_rules_loaded") == 2.0
    assert reloader.reload() == Changes(added=(), changed=(), removed=(), unchanged=("a", "b"))
    assert len(applied) == 1  # nothing new: nothing applied
