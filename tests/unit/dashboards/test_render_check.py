"""Rendered saved objects pass what Dashboards' import checks, and the checker catches faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bitacora.dashboards.check import KNOWN_TYPES, check, field_type, mapping_fields, query_fields
from bitacora.dashboards.render import DashboardParams, render, render_objects
from bitacora.processors.storage.templates import (
    alerts_index_template,
    deadletter_index_template,
    logs_index_template,
)
from bitacora.settings import Settings

SETTINGS = Settings()
LOGS = logs_index_template(SETTINGS)["template"]["mappings"]
OTHERS = {
    "bitacora-alerts*": alerts_index_template(SETTINGS)["template"]["mappings"],
    "bitacora-deadletter*": deadletter_index_template(SETTINGS)["template"]["mappings"],
}


def _objects(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def _dump(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)


def test_rendered_objects_pass_every_check() -> None:
    assert check(render(), LOGS, OTHERS) == []


def test_render_is_deterministic_and_complete() -> None:
    text = render()
    assert text == render()
    objects = _objects(text)
    titles = {(o["type"], o["attributes"]["title"]) for o in objects}
    assert {
        ("index-pattern", "logs-*"),
        ("index-pattern", "bitacora-alerts*"),
        ("index-pattern", "bitacora-deadletter*"),
        ("search", "Errors"),
        ("search", "Dead letters"),
        ("search", "Alerts"),
        ("search", "Logs: order-service"),
        ("visualization", "Events over time by level"),
        ("visualization", "Errors by service"),
        ("visualization", "Top error types"),
        ("visualization", "HTTP status over time"),
        ("visualization", "Slowest endpoints"),
        ("visualization", "Alerts timeline"),
        ("dashboard", "Operations overview"),
        ("dashboard", "Service detail"),
        ("dashboard", "Weekly review"),
        ("dashboard", "Health checks"),
        ("search", "Health-check failures"),
    } <= titles
    assert len(objects) == 26
    assert {o["type"] for o in objects} <= KNOWN_TYPES


def test_string_attributes_are_json_strings() -> None:
    for obj in render_objects():
        attrs = obj["attributes"]
        for key in ("visState", "uiStateJSON", "panelsJSON", "optionsJSON"):
            if key in attrs:
                assert isinstance(attrs[key], str)
                json.loads(attrs[key])
        source = attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if source is not None:
            assert isinstance(source, str)


def test_params_change_the_patterns_and_services() -> None:
    objects = render_objects(DashboardParams(logs_pattern="logs-shop-*", services=('we"ird',)))
    patterns = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert patterns["bitacora-logs"] == "logs-shop-*"
    weird = next(o for o in objects if o["id"] == 'bitacora-search-service-we"ird')
    source = json.loads(weird["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert source["query"]["query"] == 'service.name:"we"ird"'


def test_settings_are_accepted() -> None:
    assert render(SETTINGS) == render()


def _broken(mutate: Any) -> list[str]:
    objects = _objects(render())
    mutate(objects)
    return check(_dump(objects), LOGS, OTHERS)


def _find(objects: list[dict[str, Any]], obj_id: str) -> dict[str, Any]:
    return next(o for o in objects if o["id"] == obj_id)


def test_unknown_type() -> None:
    def mutate(objects: list[dict[str, Any]]) -> None:
        objects[0]["type"] = "lens"

    assert "lens/bitacora-logs: unknown type 'lens'" in _broken(mutate)


def test_duplicate_id() -> None:
    def mutate(objects: list[dict[str, Any]]) -> None:
        objects.append(dict(_find(objects, "bitacora-search-errors")))

    assert _broken(mutate) == ["search/bitacora-search-errors: duplicate id"]


def test_dangling_reference() -> None:
    def mutate(objects: list[dict[str, Any]]) -> None:
        objects.remove(_find(objects, "bitacora-vis-http-status"))

    problems = _broken(mutate)
    assert problems == [
        f"dashboard/{d}: reference panel_{i} → visualization/bitacora-vis-http-status not found"
        for d, i in (("bitacora-dash-operations", 2), ("bitacora-dash-service", 2))
    ]


def test_panel_without_reference() -> None:
    def mutate(objects: list[dict[str, Any]]) -> None:
        _find(objects, "bitacora-dash-weekly")["references"].pop()

    assert _broken(mutate) == [
        "dashboard/bitacora-dash-weekly: panel_5 is used but not in references"
    ]


def test_missing_migration_version() -> None:
    def mutate(objects: list[dict[str, Any]]) -> None:
        del _find(objects, "bitacora-vis-alerts-timeline")["migrationVersion"]

    assert _broken(mutate) == [
        "visualization/bitacora-vis-alerts-timeline: migrationVersion missing"
    ]


def test_field_missing_from_mapping_and_text_aggregation() -> None:
    def mutate(objects: list[dict[str, Any]]) -> None:
        vis = _find(objects, "bitacora-vis-top-error-types")
        state = json.loads(vis["attributes"]["visState"])
        state["aggs"][1]["params"]["field"] = "error.kind"
        state["aggs"][2]["params"]["field"] = "message"
        vis["attributes"]["visState"] = json.dumps(state)
        search = _find(objects, "bitacora-search-errors")
        search["attributes"]["columns"].append("user.name")

    assert _broken(mutate) == [
        "search/bitacora-search-errors: column field 'user.name' is not in the logs-* mapping",
        "visualization/bitacora-vis-top-error-types: terms aggregation field 'error.kind' "
        "is not in the logs-* mapping",
        "visualization/bitacora-vis-top-error-types: terms aggregation on 'message' (text) "
        "is not aggregatable",
    ]


def test_objects_on_a_pattern_without_mapping_are_reported() -> None:
    problems = check(render(), LOGS, {"bitacora-deadletter*": OTHERS["bitacora-deadletter*"]})
    assert problems == [
        "search/bitacora-search-alerts: no mapping given for index pattern 'bitacora-alerts*'",
        "visualization/bitacora-vis-alerts-timeline: no mapping given for index pattern "
        "'bitacora-alerts*'",
    ]


def test_bad_lines() -> None:
    assert check('{"id": 1}\nnot json\n', LOGS) == [
        "line 1: a saved object needs id, type and attributes",
        "line 2: not JSON (Expecting value)",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("event.severity >= 17", ["event.severity"]),
        ('service.name:"a:b" and url.path:/x*', ["service.name", "url.path"]),
        ("@timestamp < now-1d", ["@timestamp"]),
        ("", []),
        ("free text", []),
    ],
)
def test_query_fields(query: str, expected: list[str]) -> None:
    assert query_fields(query) == expected


def test_mapping_fields_and_flat_object() -> None:
    fields = mapping_fields(LOGS)
    assert fields["error.message.keyword"] == "keyword"
    assert fields["kubernetes.pod.name"] == "keyword"
    assert field_type(fields, "labels.region") == "keyword"
    assert field_type(fields, "nope.region") is None
    alerts = mapping_fields(OTHERS["bitacora-alerts*"])
    assert "alert.samples" not in alerts  # disabled object: not searchable
