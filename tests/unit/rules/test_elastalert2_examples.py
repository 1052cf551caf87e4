"""ElastAlert2's example rules load unchanged and behave as ElastAlert2 documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bitacora.rules.alerts import Alert
from bitacora.rules.loader import load_rule_file, read_rule
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations.webhook import webhook_payload
from bitacora.rules.replay import run_rules_over
from tests.unit.rules.util import ev

EXAMPLES = Path(__file__).parents[2] / "data" / "elastalert2"


def example(name: str) -> Rule:
    return load_rule_file(EXAMPLES / f"example_{name}.yaml")


def replay(rule: Rule, events: list[dict[str, Any]]) -> list[Alert]:
    return run_rules_over(events, [rule], lateness_s=0, apply_realert=False)


def test_polling_options_are_dropped_with_a_warning_naming_them() -> None:
    read = read_rule(EXAMPLES / "example_frequency.yaml")
    assert (read.rule.index, read.rule.alert, read.rule.http_post_url) == (
        "logstash-*",
        ["post"],
        ["http://127.0.0.1:9/alert"],
    )
    path = EXAMPLES / "example_frequency.yaml"
    why = "Bitácora evaluates rules on the stream, without polling"
    assert read.warnings == (
        f"{path}:5: ElastAlert2 option 'es_host' ignored: {why}",
        f"{path}:9: ElastAlert2 option 'es_port' ignored: {why}",
    )


def test_frequency_fires_at_50_events_within_4_hours() -> None:
    rule = example("frequency")
    hit = {"some_field": "some_value"}
    miss = {"some_field": "other"}
    events = [ev(i * 60, **hit) for i in range(49)] + [ev(49 * 60, **miss)]
    assert replay(rule, events) == []
    [alert] = replay(rule, [*events, ev(4 * 3600 - 1, **hit)])
    assert (alert.count, alert.rule) == (50, "Example frequency rule")
    assert replay(rule, [*events, ev(4 * 3600, **hit)]) == []  # the first is 4 h older: out


def test_spike_fires_when_current_window_triples_reference() -> None:
    rule = example("spike")
    match = {"field": "value"}
    # Reference window (2 h): 2 events; current: 6 events ≥ 2·3 and ≥ threshold_cur 5.
    reference = [ev(3600 * 1.5, **match), ev(3600 * 1.6, **match)]
    current = [ev(3600 * 2 + 60 * i, **match) for i in range(1, 6)]
    assert replay(rule, [ev(0, **match), *reference, *current]) == []  # 5 in cur: 5 < 6
    [alert] = replay(rule, [ev(0, **match), *reference, *current, ev(4 * 3600, **match)])
    assert alert.extra == {"spike_count": 6, "reference_count": 2}
    assert webhook_payload(alert, rule.options_for("post"))["spike_count"] == 6


def test_change_fires_when_country_changes_within_a_day() -> None:
    rule = example("change")
    login = {"document_type": "login", "username": "bob"}
    events = [
        ev(0, country_name="USA", **login),
        ev(5 * 3600, country_name="Russia", **login),
    ]
    [alert] = replay(rule, events)
    assert (alert.key, alert.extra) == ("bob", {"old_value": "USA", "new_value": "Russia"})
    later = [events[0], ev(2 * 86400, country_name="Russia", **login)]
    assert replay(rule, later) == []


def test_new_term_fires_for_an_unseen_ip_after_warmup() -> None:
    rule = example("new_term")
    login = {"_type": "login_event", "username": "admin"}
    events = [
        ev(0, ip_address="10.0.0.1", **login),
        ev(20 * 60, ip_address="10.0.0.1", **login),
        ev(21 * 60, ip_address="10.0.0.2", **login),
        ev(22 * 60, ip_address="10.0.0.3", username="guest", _type="login_event"),
    ]
    [alert] = replay(rule, events)
    assert alert.extra == {"new_field": "ip_address", "new_value": "10.0.0.2"}


def test_blacklist_fires_for_listed_address_and_posts_the_event() -> None:
    rule = example("blacklist")
    events = [
        ev(0, document_type="login", email_address="good@example.com"),
        ev(1, document_type="login", email_address="bad2@example.com"),
        ev(2, document_type="logout", email_address="bad@example.com"),
    ]
    [alert] = replay(rule, events)
    payload = webhook_payload(alert, rule.options_for("post"))
    assert payload == {**events[1], "source": "elastalert"}
    assert rule.http_post_headers == {"X-Source": "elastalert"}
