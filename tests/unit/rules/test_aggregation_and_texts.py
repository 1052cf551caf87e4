"""ElastAlert2's aggregation, alert_text_kw, Discover links and include_match_in_root."""

from __future__ import annotations

import pytest

from bitacora.errors import RuleError
from bitacora.partitions import partition_for
from bitacora.rules.aggregation import (
    Incident,
    group_partitioner,
    join,
    route_key,
    state_partitioner,
)
from bitacora.rules.loader import parse_rule_text, read_rule_text
from bitacora.rules.notify.destinations.alertmanager import AlertmanagerOptions, alertmanager_alerts
from bitacora.rules.notify.templates import render
from bitacora.rules.replay import run_rules_over
from tests.unit.rules.util import ev

AGGREGATED = """
name: agg
type: any
filter: [{term: {log.level: error}}]
aggregation: {minutes: 10}
aggregate_by_match_time: true
aggregation_key: service.name
summary_table_fields: [labels.user]
alert_text_type: aggregation_summary_only
"""


def test_matches_of_a_period_become_one_alert_per_aggregation_key() -> None:
    rule = parse_rule_text(AGGREGATED)
    events = [
        ev(0, labels={"user": "bob"}),
        ev(60, labels={"user": "eve"}),
        ev(120, labels={"user": "bob"}),
        ev(30, **{"service.name": "order-service"}, labels={"user": "ann"}),
        ev(700, labels={"user": "bob"}),  # 10 min after the first: a new group
    ]
    alerts = run_rules_over(events, [rule], lateness_s=0, apply_realert=False)
    # In the order the groups close: 10 minutes after their first match.
    summary = [(a.event["service.name"], a.count, a.extra) for a in alerts]
    assert summary == [
        ("user-service", 3, {"num_matches": 3, "summary_table": [["bob", 2], ["eve", 1]]}),
        ("order-service", 1, {"num_matches": 1, "summary_table": [["ann", 1]]}),
        ("user-service", 1, {"num_matches": 1, "summary_table": [["bob", 1]]}),
    ]
    assert render(alerts[0], rule).body == (
        "Aggregation resulted in the following data for summary_table_fields ==> "
        "labels.user:\n\nlabels.user | count\nbob         | 2    \neve         | 1    \n"
    )


def test_aggregation_and_top_count_keys_load_without_warnings() -> None:
    read = read_rule_text(AGGREGATED + "top_count_keys: [host.name]\n")
    assert read.warnings == ()


def test_the_cron_form_of_aggregation_is_refused_clearly() -> None:
    with pytest.raises(RuleError) as info:
        read_rule_text("name: c\ntype: any\naggregation: {schedule: '2 4 * * mon'}\n")
    assert str(info.value) == (
        "<text>:3: key 'aggregation': Value error, the cron form {schedule: ...} is not "
        "supported: give a period such as {minutes: 5}"
    )


def test_join_closes_a_group_once_its_period_is_over_and_routes_by_group() -> None:
    rule = parse_rule_text(AGGREGATED.replace("aggregate_by_match_time: true\n", ""))
    alerts = run_rules_over(
        [ev(0, labels={"user": "bob"}), ev(1, labels={"user": "eve"}), ev(2)],
        [rule.model_copy(update={"aggregation": None})],
        lateness_s=0,
        apply_realert=False,
    )
    first, second, third = alerts
    sent, group = join(None, first, rule, 100.0)
    assert (sent, group) == ([], Incident(700.0, (first,)))
    sent, group = join(group, second, rule, 699.0)
    assert (sent, group) == ([], Incident(700.0, (first, second)))
    sent, group = join(group, third, rule, 700.0)  # the period is [100, 700)
    assert group == Incident(1300.0, (third,))  # an `any` rule's alerts never resolve
    [closed] = sent
    assert (closed.count, closed.extra["num_matches"]) == (2, 2)
    assert closed.extra["summary_table"] == [["bob", 1], ["eve", 1]]
    # Every alert of an aggregating rule travels under the rule's name (one worker).
    assert route_key(first, rule) == b"agg"
    assert route_key(first.model_copy(update={"status": "resolved"}), rule) == b"agg"
    assert route_key(first, rule.model_copy(update={"aggregation": None})) == b"agg"


def test_state_and_groups_of_an_aggregating_rule_sit_on_its_alerts_partition() -> None:
    grouped = parse_rule_text(AGGREGATED.replace("name: agg", "name: a.b") + "query_key: host\n")
    plain = parse_rule_text("name: a\ntype: any\nquery_key: host\n")
    rules = {"a.b": grouped, "a": plain}
    placed = state_partitioner(lambda: rules, 8)
    rule_partition = partition_for(b"a.b", 8)
    # The realert state of each host of "a.b" (dedup keys "a.b.<host>"), on "a.b"'s partition.
    hosts = [f"h{n}" for n in range(20)]
    assert {placed(f"a.b.{host}".encode()) for host in hosts} == {rule_partition}
    # Keys of the plain rule "a" stay where their own alerts go: spread by key.
    spread = {placed(f"a.{host}".encode()) for host in hosts}
    assert spread == {partition_for(f"a.{host}".encode(), 8) for host in hosts}
    assert len(spread) > 1
    groups = group_partitioner(8)
    assert {groups(f"a.b\x1fsvc-{n}".encode()) for n in range(20)} == {rule_partition}


def test_alert_text_kw_discover_url_and_match_in_root() -> None:
    rule = parse_rule_text(
        "name: kw\ntype: any\nalert_text: '{who} at {url}'\nalert_text_type: alert_text_only\n"
        "alert_text_kw: {labels.user: who, kibana_discover_url: url}\n"
        "generate_kibana_discover_url: true\ninclude_match_in_root: true\n"
    )
    [alert] = run_rules_over([ev(0, labels={"user": "bob"})], [rule], lateness_s=0)
    assert render(alert, rule).body == f"bob at {alert.search_url}"
    assert alert.search_url.startswith("http://127.0.0.1:5601/app/data-explorer/discover#")
    doc = alert.to_document(include_match_in_root=True)
    assert (doc["message"], doc["log.level"], doc["rule"]) == ("boom", "error", "kw")
    assert "message" not in alert.to_document()


def test_include_keeps_the_named_fields_and_the_keys() -> None:
    from pathlib import Path

    from bitacora.rules.loader import read_rule

    examples = Path(__file__).parents[2] / "data" / "elastalert2" / "examples"
    rule = read_rule(examples / "ssh.yaml").rule  # include: host.hostname, user.name, source.ip
    rule = rule.model_copy(update={"num_events": 1})
    event = ev(
        0,
        **{"event.type": "authentication_failure", "source.ip": "10.0.0.9"},
        labels={"host": {"hostname": "web1"}, "user": {"name": "root"}, "pid": 7},
    )
    [alert] = run_rules_over([event], [rule], lateness_s=0)
    assert alert.event == {
        "@timestamp": event["@timestamp"],
        "source.ip": "10.0.0.9",
        "host.hostname": "web1",
        "user.name": "root",
    }


def test_a_group_alert_is_one_alertmanager_alert_labelled_from_its_first_match() -> None:
    """As ElastAlert2's Alertmanager alerter: one alert per group, ``alertmanager_fields``
    looked up in the group's first match."""
    rule = parse_rule_text(
        AGGREGATED
        + "alert: alertmanager\nalertmanager_hosts: [http://127.0.0.1:9]\n"
        + "alertmanager_fields: {user: labels.user}\n"
    )
    events = [ev(0, labels={"user": "eve"}), ev(60, labels={"user": "bob"})]
    [alert] = run_rules_over(events, [rule], lateness_s=0, apply_realert=False)
    options = rule.options_for("alertmanager")
    assert isinstance(options, AlertmanagerOptions)
    [sent] = alertmanager_alerts(alert, options, render(alert, rule))
    assert sent["labels"] == {
        "alertname": "agg",
        "rule": "agg",
        "key": "user-service",
        "severity": "error",
        "user": "eve",
    }


def test_alertmanager_fields_other_than_text_are_json_as_in_elastalert2() -> None:
    """ElastAlert2 writes a label that is not a string as JSON; a field the event lacks
    gives no label here (ElastAlert2: the text ``null``)."""
    rule = parse_rule_text(
        AGGREGATED
        + "alert: alertmanager\nalertmanager_hosts: [http://127.0.0.1:9]\n"
        + "alertmanager_fields: {user: labels.user, ok: labels.ok, n: labels.n,"
        + " tags: labels.tags, gone: labels.gone}\n"
    )
    labels = {"user": "eve", "ok": True, "n": 42, "tags": {"a": [1, "x"]}}
    [alert] = run_rules_over([ev(0, labels=labels)], [rule], lateness_s=0, apply_realert=False)
    options = rule.options_for("alertmanager")
    assert isinstance(options, AlertmanagerOptions)
    [sent] = alertmanager_alerts(alert, options, render(alert, rule))
    assert {name: sent["labels"].get(name) for name in ("user", "ok", "n", "tags", "gone")} == {
        "user": "eve",
        "ok": "true",
        "n": "42",
        "tags": '{"a": [1, "x"]}',
        "gone": None,
    }
