"""Reading a field of an event by its dotted name.

Events have flat dotted keys (``event["service.name"]``); a stored ``_source``, an
ElastAlert2-style JSON line or ``labels`` may instead nest them (``{"service": {"name":
…}}``, ``{"labels": {"a.b": 1}}``), so a dotted name falls back to walking nested mappings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def lookup(event: Mapping[str, Any], field: str) -> Any:
    """The value of ``field`` in ``event`` or ``None`` (missing and null are the same)."""
    value = event.get(field)
    if value is not None or "." not in field:
        return value
    parts = field.split(".")
    # Try every split point: "labels.a.b" may be event["labels"]["a.b"] or ["a"]["b"].
    for cut in range(1, len(parts)):
        head = ".".join(parts[:cut])
        inner = event.get(head)
        if isinstance(inner, Mapping):
            found = lookup(inner, ".".join(parts[cut:]))
            if found is not None:
                return found
    return None


def getter(field: str) -> Callable[[Mapping[str, Any]], Any]:
    """A fast reader of ``field``: one dict lookup for flat keys; the nested fallback runs
    only when the event holds a mapping under one of the field's prefixes."""
    if "." not in field:
        return lambda event: event.get(field)
    parts = field.split(".")
    prefixes = tuple(".".join(parts[:cut]) for cut in range(1, len(parts)))

    def get(event: Mapping[str, Any]) -> Any:
        value = event.get(field)
        if value is not None:
            return value
        for prefix in prefixes:
            if prefix in event:
                return lookup(event, field)
        return None

    return get
