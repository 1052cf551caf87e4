"""A field outside the event schema resolves to ``labels.<name>``."""

from __future__ import annotations

from typing import Any

from bitacora.fields import getter, lookup
from bitacora.processors.storage.templates import event_properties
from bitacora.rules.loader import parse_rule_text
from bitacora.rules.replay import run_rules_over
from bitacora.schema import EVENT_FIELDS
from tests.unit.rules.util import ev


def _flat(properties: dict[str, Any], prefix: str = "") -> set[str]:
    names: set[str] = set()
    for name, spec in properties.items():
        if "properties" in spec:
            names |= _flat(spec["properties"], f"{prefix}{name}.")
        else:
            names.add(prefix + name)
    return names


def test_event_fields_are_the_logs_template_fields() -> None:
    assert _flat(event_properties()) == set(EVENT_FIELDS)


def test_raw_names_read_labels_and_schema_fields_do_not() -> None:
    event = {"message": "m", "labels": {"username": "bob", "user": {"id": 7}, "message": "x"}}
    assert (lookup(event, "username"), getter("username")(event)) == ("bob", "bob")
    assert (lookup(event, "user.id"), getter("user.id")(event)) == (7, 7)
    assert lookup({"labels": {"message": "x"}}, "message") is None
    assert lookup({"username": "raw", "labels": {"username": "bob"}}, "username") == "raw"
    flat = {"labels": {"user_name": "eve"}}  # a raw flat key "user.name", made safe
    assert (lookup(flat, "user.name"), getter("user.name")(flat)) == ("eve", "eve")


def test_a_rule_over_raw_documents_matches_normalized_events() -> None:
    rule = parse_rule_text(
        "name: r\ntype: frequency\nnum_events: 2\ntimeframe: {minutes: 5}\n"
        "query_key: username\nfilter:\n- term: {status: denied}\n"
    )
    events = [
        ev(0, labels={"username": "bob", "status": "denied"}),
        ev(1, labels={"username": "eve", "status": "denied"}),
        ev(2, labels={"username": "bob", "status": "denied"}),
    ]
    alerts = run_rules_over(events, [rule], lateness_s=0, apply_realert=False)
    assert [(a.key, a.count) for a in alerts] == [("bob", 2)]
