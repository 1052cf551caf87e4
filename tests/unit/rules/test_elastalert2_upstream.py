"""Every rule file of ElastAlert2's ``examples/rules`` loads unchanged (tests/data copies)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitacora.errors import RuleError
from bitacora.rules.loader import read_rule, read_rule_text

EXAMPLES = Path(__file__).parents[2] / "data" / "elastalert2" / "examples"
# ElastAlert2 2.19 itself refuses this one (frequency without timeframe fails its schema).
REFUSED_BY_ELASTALERT2 = "example_thehive_frequency.yaml"


def _loadable() -> list[Path]:
    return [p for p in sorted(EXAMPLES.glob("*.yaml")) if p.name != REFUSED_BY_ELASTALERT2]


def test_the_copies_are_all_fifteen_files() -> None:
    assert len(sorted(EXAMPLES.glob("*.yaml"))) == 15


@pytest.mark.parametrize("path", _loadable(), ids=lambda p: p.name)
def test_example_loads_unchanged(path: Path) -> None:
    read = read_rule(path)
    assert read.rule.name


def test_the_file_elastalert2_refuses_is_refused_naming_the_missing_key() -> None:
    path = EXAMPLES / REFUSED_BY_ELASTALERT2
    with pytest.raises(RuleError) as caught:
        read_rule(path)
    assert str(caught.value) == (
        f"{path}:4: key '(rule)': Value error, rule type 'frequency' needs option 'timeframe': "
        "add a line such as `timeframe: {minutes: 5}`"
    )


def test_the_refused_file_loads_once_the_suggested_line_is_added() -> None:
    text = (EXAMPLES / REFUSED_BY_ELASTALERT2).read_text() + "timeframe: {minutes: 5}\n"
    read = read_rule_text(text)
    assert (read.rule.type, read.rule.num_events, read.rule.timeframe) == ("frequency", 30, 300.0)


def test_unregistered_alerter_loads_with_warnings_naming_it_and_its_options() -> None:
    path = EXAMPLES / "example_iris_alert_any.yaml"
    read = read_rule(path)
    assert read.rule.alert == []
    ignored = [
        (17, "iris_host"),
        (18, "iris_api_token"),
        (19, "iris_customer_id"),
        (20, "iris_description"),
        (21, "iris_alert_note"),
        (22, "iris_alert_tags"),
        (23, "iris_alert_context"),
        (26, "iris_iocs"),
    ]
    assert read.warnings == (
        *(
            f"{path}:{line}: ElastAlert2 option {name!r} ignored: Bitácora does not use it"
            for line, name in ignored
        ),
        f"{path}:15: alerter 'iris' is not available in Bitácora yet: the rule runs and its "
        "alerts are only indexed in bitacora-alerts",
    )


def test_registered_alerters_take_their_options() -> None:
    read = read_rule(EXAMPLES / "example_opsgenie_frequency.yaml")
    assert (read.rule.alert, read.warnings) == (["opsgenie"], ())


def test_new_options_are_typed() -> None:
    ssh = read_rule(EXAMPLES / "ssh.yaml").rule
    assert (ssh.include_match_in_root, ssh.query_key, ssh.index) == (
        True,
        ["source.ip"],
        "auditbeat-*",
    )
    metric = read_rule(EXAMPLES / "example_single_metric_agg.yaml").rule
    assert (metric.sync_bucket_interval, metric.bucket_interval) == (True, 300.0)
    tencent = read_rule(EXAMPLES / "example_tencent_sms.yaml").rule
    assert tencent.timestamp_field == "date"


def test_a_typo_is_refused_with_the_nearest_key() -> None:
    text = "name: a\ntype: any\ninclude_match_in_rot: true\n"
    with pytest.raises(RuleError) as caught:
        read_rule_text(text)
    assert str(caught.value) == (
        "<text>:3: unknown key 'include_match_in_rot' (did you mean 'include_match_in_root'?)"
    )


def test_import_fills_in_keys_the_rule_does_not_set(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("type: frequency\nnum_events: 3\ntimeframe: {hours: 1}\n")
    (tmp_path / "r.yaml").write_text("import: base.yaml\nname: r\nnum_events: 5\n")
    rule = read_rule(tmp_path / "r.yaml").rule
    assert (rule.type, rule.num_events, rule.timeframe) == ("frequency", 5, 3600.0)
