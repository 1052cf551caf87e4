"""Loader: errors name file, line and key; the published schema is current and consistent."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bitacora.errors import RuleError
from bitacora.rules.loader import SHIPPED_DIR, load_rule_file, load_rules, parse_rule_text
from bitacora.rules.schema import SCHEMA_PATH, schema_text

GOOD = """\
name: burst
type: frequency
num_events: 3
timeframe: {minutes: 1}
filter:
  - term: {log.level: error}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_rule_loads_with_durations_in_seconds(tmp_path: Path) -> None:
    rule = load_rule_file(write(tmp_path, "r.yaml", GOOD))
    assert (rule.name, rule.type, rule.num_events, rule.timeframe, rule.realert) == (
        "burst",
        "frequency",
        3,
        60.0,
        60.0,
    )


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", GOOD + "num_evnts: 4\n")
    with pytest.raises(RuleError) as caught:
        load_rule_file(path)
    assert str(caught.value) == f"{path}:7: unknown key 'num_evnts' (did you mean 'num_events'?)"


def test_wrong_type_names_nested_key_and_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", GOOD.replace("{minutes: 1}", "\n  minutes: soon"))
    with pytest.raises(RuleError) as caught:
        load_rule_file(path)
    assert str(caught.value).startswith(
        f"{path}:4: key 'timeframe': Value error, duration minutes must be"
    )


def test_missing_type_option_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "name: x\ntype: frequency\ntimeframe: 5m\n")
    with pytest.raises(
        RuleError,
        match=r"r\.yaml:1: key '\(rule\)': Value error, "
        r"rule type 'frequency' needs option 'num_events'",
    ):
        load_rule_file(path)


def test_bad_filter_names_the_filter_line(tmp_path: Path) -> None:
    text = GOOD + "  - query:\n      query_string:\n        query: 'a:(b'\n"
    path = write(tmp_path, "r.yaml", text)
    with pytest.raises(RuleError) as caught:
        load_rule_file(path)
    assert str(caught.value).startswith(
        f"{path}:7: key 'filter.1': query_string: unexpected end of 'a:(b'"
    )


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(RuleError, match=r"^x\.yaml:4: invalid YAML: expected the node content"):
        parse_rule_text("name: a\ntype: any\nfilter: [\n", "x.yaml")


def test_unknown_alerter_and_missing_alerter_option() -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule_text("name: a\ntype: any\nalert: slakc\n")
    assert str(caught.value) == "<text>:3: unknown alerter 'slakc' (did you mean 'slack'?)"
    with pytest.raises(RuleError, match="alerter 'post' needs option 'http_post_url'"):
        parse_rule_text("name: a\ntype: any\nalert: [post]\n")


def test_every_broken_file_is_reported_and_duplicate_names(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", GOOD)
    write(tmp_path, "c.yml", "name: c\ntype: nope\n")
    with pytest.raises(RuleError) as caught:
        load_rules([tmp_path])
    lines = str(caught.value).splitlines()
    assert (
        lines[0] == f"{tmp_path / 'b.yaml'}:1: key 'name': rule name 'burst' "
        f"also used by {tmp_path / 'a.yaml'}"
    )
    assert lines[1] == (
        f"{tmp_path / 'c.yml'}:2: key 'type': Value error, unknown rule type 'nope': use one "
        "of any, frequency, spike, flatline, new_term, change, blacklist, whitelist, "
        "cardinality, metric_aggregation, percentage_match, spike_aggregation"
    )


def test_shipped_rules_load() -> None:
    names = sorted(loaded.rule.name for loaded in load_rules())
    assert names == [
        "auth-failures-per-ip",
        "database-fatal",
        "error-burst",
        "error-rate-spike",
        "health-check-failed",
        "health-check-silent",
        "ingress-5xx-rate",
        "new-error-type",
        "service-silent",
    ]


def test_published_schema_is_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "run: python -m bitacora.rules.schema"
    )


def test_schema_accepts_shipped_and_elastalert2_files_and_rejects_unknown_keys() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    files = [
        *SHIPPED_DIR.glob("*.yaml"),
        *(Path(__file__).parents[2] / "data" / "elastalert2").glob("*.yaml"),
    ]
    assert len(files) == 14
    for path in files:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], path
    bad = list(validator.iter_errors({"name": "x", "type": "any", "bogus": 1}))
    assert [error.validator for error in bad] == ["additionalProperties"]
