"""Reading fields of a normalized event and comparing their values, as the filters need.

Events have flat dotted keys (``event["service.name"]``); ``labels`` is a dict that may be
flat (``{"a.b": 1}``) or nested (``{"a": {"b": 1}}``). Events from ElastAlert2-style JSON
lines may be nested as a whole, so a dotted key falls back to walking nested mappings.
A field that is not in the event schema (``bitacora.schema.EVENT_FIELDS``) and is not found
as named is read from ``labels.<name>``, where the normalizer keeps what sources send
beyond the schema: a rule written over raw documents (``username``) matches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from bitacora.schema import EVENT_FIELDS

# Fields OpenSearch analyses as text: query_string terms on them match words, not the value.
TEXT_FIELDS = frozenset({"message", "error.message", "error.stack_trace"})


def in_labels(field: str) -> str | None:
    """``labels.<field>`` for a field outside the event schema, else None."""
    if field in EVENT_FIELDS or field == "labels" or field.startswith("labels."):
        return None
    return "labels." + field


def lookup(event: Mapping[str, Any], field: str) -> Any:
    """The value of ``field`` in ``event`` (else of ``labels.<field>``, see the module
    docstring) or ``None`` (missing and null are the same)."""
    value = _lookup(event, field)
    if value is None:
        label = in_labels(field)
        if label is not None and "labels" in event:
            return _lookup(event, label)
    return value


def _lookup(event: Mapping[str, Any], field: str) -> Any:
    value = event.get(field)
    if value is not None or "." not in field:
        return value
    parts = field.split(".")
    # Try every split point: "labels.a.b" may be event["labels"]["a.b"] or ["a"]["b"].
    for cut in range(1, len(parts)):
        head = ".".join(parts[:cut])
        inner = event.get(head)
        if isinstance(inner, Mapping):
            found = _lookup(inner, ".".join(parts[cut:]))
            if found is not None:
                return found
    return None


def getter(field: str) -> Callable[[Mapping[str, Any]], Any]:
    """A fast reader of ``field``: one dict lookup for flat keys; the nested fallback runs
    only when the event holds a mapping under one of the field's prefixes; the ``labels``
    fallback only when the field is outside the event schema."""
    label = in_labels(field)
    if label is not None:
        direct, labelled = getter_as_named(field), getter_as_named(label)

        def get_or_label(event: Mapping[str, Any]) -> Any:
            value = direct(event)
            return labelled(event) if value is None else value

        return get_or_label
    return getter_as_named(field)


def getter_as_named(field: str) -> Callable[[Mapping[str, Any]], Any]:
    """A reader of ``field`` exactly as named (no ``labels`` fallback)."""
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
                return _lookup(event, field)
        return None

    return get


def norm(value: Any) -> str:
    """One canonical text form per value so ``500``, ``500.0`` and ``"500"`` compare equal."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]  # checked just above
    if kind is int:
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def norm_variants(expected: Any) -> set[str]:
    """The canonical forms an expected value (from a rule) matches: text and numeric."""
    forms = {norm(expected)}
    if isinstance(expected, str):
        with contextlib.suppress(ValueError):
            forms.add(norm(float(expected)))
    return forms


def each(value: Any) -> list[Any]:
    """A field value as a list of values (arrays match when any element matches)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def hashable_key(event: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    """The query_key value of ``event`` as text: ``all`` without a query_key.

    Compound keys join their values with ``", "`` as ElastAlert2 does; a missing value is
    written ``None`` like ElastAlert2's ``hashable(None)``, so those events share one key.
    """
    if not fields:
        return "all"
    if len(fields) == 1:
        value = lookup(event, fields[0])
        return "None" if value is None else norm(value)
    parts = []
    for field in fields:
        value = lookup(event, field)
        parts.append("None" if value is None else norm(value))
    return ", ".join(parts)
