"""Check rendered saved objects the way Dashboards' import would, plus field existence.

No Dashboards server runs in tests, so this repeats what ``_import`` verifies (known
types, unique ids, resolvable references, ``migrationVersion``) and adds what it only
discovers when a panel renders: every field a visualization or search uses must exist
in the index template, and aggregated fields must be aggregatable (not ``text``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

#: Saved object types OpenSearch Dashboards 2.x/3.x imports.
KNOWN_TYPES: frozenset[str] = frozenset(
    {
        "index-pattern",
        "search",
        "visualization",
        "dashboard",
        "config",
        "query",
        "url",
        "augment-vis",
        "visualization-visbuilder",
    }
)
_JSON_STRING_ATTRIBUTES = ("visState", "uiStateJSON", "panelsJSON", "optionsJSON")
# `field:value`, `field >= 3`, `field:*` in kuery/lucene; quoted values skipped by the split.
_QUERY_FIELD = re.compile(r"(?<![\w.@\"])([@A-Za-z_][\w.@]*)\s*(?::|>=|<=|>|<)")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_AGGREGATABLE = frozenset(
    {"keyword", "integer", "long", "short", "byte", "double", "float", "half_float",
     "scaled_float", "date", "date_nanos", "ip", "boolean", "unsigned_long"}
)  # fmt: skip


def mapping_fields(mapping: Mapping[str, Any]) -> dict[str, str]:
    """Dotted field name → type, from an index template's ``mappings`` (or ``properties``).

    Multi-fields appear as ``error.message.keyword``; a ``flat_object`` as its own name
    (its keys are matched by prefix in ``field_type``); disabled objects are left out.
    """
    properties = mapping.get("properties", mapping)
    out: dict[str, str] = {}

    def walk(props: Mapping[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            path = f"{prefix}{name}"
            if "properties" in spec:
                walk(spec["properties"], f"{path}.")
                continue
            kind = spec.get("type", "object")
            if kind == "object" and spec.get("enabled", True) is False:
                continue
            out[path] = kind
            for sub, sub_spec in spec.get("fields", {}).items():
                out[f"{path}.{sub}"] = sub_spec.get("type", "object")

    walk(properties, "")
    return out


def field_type(fields: Mapping[str, str], name: str) -> str | None:
    """The type of ``name``; keys inside a ``flat_object`` (``labels.region``) are keyword."""
    if name in fields:
        return fields[name]
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        if fields.get(".".join(parts[:i])) == "flat_object":
            return "keyword"
    return None


def query_fields(query: str) -> list[str]:
    """Field names a kuery/lucene query string refers to (``a.b:x``, ``n >= 3``)."""
    return _QUERY_FIELD.findall(_QUOTED.sub('""', query))


def _parse_lines(ndjson: str, problems: list[str]) -> list[dict[str, Any]]:
    objects = []
    for number, line in enumerate(ndjson.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict) or not {"id", "type", "attributes"} <= obj.keys():
            problems.append(f"line {number}: a saved object needs id, type and attributes")
            continue
        objects.append(obj)
    return objects


def _json_attribute(obj: dict[str, Any], raw: Any, what: str, problems: list[str]) -> Any:
    if raw is None:
        return None
    if not isinstance(raw, str):
        problems.append(f"{obj['type']}/{obj['id']}: {what} must be a JSON string")
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        problems.append(f"{obj['type']}/{obj['id']}: {what} is not valid JSON ({exc.msg})")
        return None


def _used_fields(obj: dict[str, Any], problems: list[str]) -> Iterator[tuple[str, bool, str]]:
    """(field, aggregated?, where) for every field the object uses."""
    attrs = obj["attributes"]
    meta = attrs.get("kibanaSavedObjectMeta", {})
    source = _json_attribute(obj, meta.get("searchSourceJSON"), "searchSourceJSON", problems)
    if isinstance(source, dict):
        query = source.get("query", {})
        text = query.get("query", "") if isinstance(query, dict) else ""
        for name in query_fields(text if isinstance(text, str) else ""):
            yield name, False, "query"
    for column in attrs.get("columns", []):
        if column != "_source":
            yield column, False, "column"
    vis = _json_attribute(obj, attrs.get("visState"), "visState", problems)
    if isinstance(vis, dict):
        for agg in vis.get("aggs", []):
            name = agg.get("params", {}).get("field")
            if isinstance(name, str):
                yield name, True, f"{agg.get('type')} aggregation"
        for control in vis.get("params", {}).get("controls", []):
            if isinstance(control.get("fieldName"), str):
                yield control["fieldName"], True, "control"


def _referenced_names(obj: dict[str, Any], problems: list[str]) -> list[str]:
    """Reference names the attributes point at (``panelRefName``, ``indexRefName``, …)."""
    attrs = obj["attributes"]
    names = []
    panels = _json_attribute(obj, attrs.get("panelsJSON"), "panelsJSON", problems)
    for panel in panels or []:
        if "panelRefName" in panel:
            names.append(panel["panelRefName"])
    source = _json_attribute(
        obj, attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON"), "searchSourceJSON", []
    )
    if isinstance(source, dict) and "indexRefName" in source:
        names.append(source["indexRefName"])
    vis = _json_attribute(obj, attrs.get("visState"), "visState", [])
    if isinstance(vis, dict):
        for control in vis.get("params", {}).get("controls", []):
            if "indexPatternRefName" in control:
                names.append(control["indexPatternRefName"])
    return names


def check(
    ndjson: str,
    index_template_mapping: Mapping[str, Any],
    other_mappings: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[str]:
    """Problems of a saved objects file; an empty list means it would import and render.

    ``index_template_mapping`` is the ``mappings`` of the logs index template; objects on
    another index pattern are checked against ``other_mappings[<pattern title>]`` and are
    reported when no mapping is given for their pattern.
    """
    problems: list[str] = []
    objects = _parse_lines(ndjson, problems)
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for obj in objects:
        key = (obj["type"], obj["id"])
        if obj["type"] not in KNOWN_TYPES:
            problems.append(f"{obj['type']}/{obj['id']}: unknown type {obj['type']!r}")
        if key in by_key:
            problems.append(f"{obj['type']}/{obj['id']}: duplicate id")
        by_key[key] = obj
        migration = obj.get("migrationVersion")
        if not isinstance(migration, dict) or not migration:
            problems.append(f"{obj['type']}/{obj['id']}: migrationVersion missing")
        for attr in _JSON_STRING_ATTRIBUTES:
            _json_attribute(obj, obj["attributes"].get(attr), attr, problems)

    logs_fields = mapping_fields(index_template_mapping)
    fields_by_title: dict[str, dict[str, str]] = {
        title: mapping_fields(m) for title, m in (other_mappings or {}).items()
    }
    for obj in objects:
        label = f"{obj['type']}/{obj['id']}"
        refs = obj.get("references", [])
        ref_names = [ref.get("name") for ref in refs]
        if len(ref_names) != len(set(ref_names)):
            problems.append(f"{label}: duplicate reference names")
        for ref in refs:
            if (ref.get("type"), ref.get("id")) not in by_key:
                target = f"{ref.get('type')}/{ref.get('id')}"
                problems.append(f"{label}: reference {ref.get('name')} → {target} not found")
        for name in _referenced_names(obj, problems):
            if name not in ref_names:
                problems.append(f"{label}: {name} is used but not in references")
        patterns = [
            by_key.get(("index-pattern", ref.get("id")))
            for ref in refs
            if ref.get("type") == "index-pattern"
        ]
        for pattern in patterns:
            if pattern is None:
                continue
            title = pattern["attributes"].get("title", "")
            fields = fields_by_title.get(title)
            if fields is None and title.startswith("logs-"):
                fields = logs_fields
            if fields is None:
                problems.append(f"{label}: no mapping given for index pattern {title!r}")
                continue
            for name, aggregated, where in _used_fields(obj, []):
                kind = field_type(fields, name)
                if kind is None:
                    problems.append(
                        f"{label}: {where} field {name!r} is not in the {title} mapping"
                    )
                elif aggregated and kind not in _AGGREGATABLE:
                    problems.append(f"{label}: {where} on {name!r} ({kind}) is not aggregatable")
    return problems
