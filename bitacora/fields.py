"""Reading a field of an event by its dotted name.

Events have flat dotted keys (``event["service.name"]``); a stored ``_source``, an
ElastAlert2-style JSON line or ``labels`` may instead nest them (``{"service": {"name":
…}}``, ``{"labels": {"a.b": 1}}``), so a dotted name falls back to walking nested mappings.
A name outside the event schema (``bitacora.schema.EVENT_FIELDS``) that is not found as
written is read from ``labels.<name>``, where the normalizer keeps what sources send beyond
the schema: a rule written over raw documents (``username``) matches normalized events.
A flat raw key with dots has them replaced by ``_`` in ``labels`` (the normalizer's rule),
so ``user.name`` is also looked for as ``labels.user_name``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bitacora.schema import EVENT_FIELDS


def in_labels(field: str) -> tuple[str, ...]:
    """Where ``labels`` may hold a field outside the event schema (none for the schema's):
    ``labels.<field>``, and for a dotted name also ``labels.<field with _ for .>``."""
    if field in EVENT_FIELDS or field == "labels" or field.startswith("labels."):
        return ()
    if "." in field:
        return ("labels." + field, "labels." + field.replace(".", "_"))
    return ("labels." + field,)


def lookup(event: Mapping[str, Any], field: str) -> Any:
    """The value of ``field`` in ``event`` (else from ``labels``, see the module
    docstring) or ``None`` (missing and null are the same)."""
    value = _lookup(event, field)
    if value is None and "labels" in event:
        for label in in_labels(field):
            value = _lookup(event, label)
            if value is not None:
                return value
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
    fallback only for a field outside the event schema."""
    labels = in_labels(field)
    if labels:
        direct = _getter(field)
        labelled = tuple(_getter(label) for label in labels)

        def get_or_label(event: Mapping[str, Any]) -> Any:
            value = direct(event)
            if value is None and "labels" in event:
                for get in labelled:
                    value = get(event)
                    if value is not None:
                        return value
            return value

        return get_or_label
    return _getter(field)


def _prefixes(field: str) -> tuple[str, ...]:
    """``a.b.c`` → ``("a", "a.b")``: where a nested mapping may hold the field."""
    parts = field.split(".")
    return tuple(".".join(parts[:cut]) for cut in range(1, len(parts)))


def fallback_keys(field: str) -> tuple[str, ...]:
    """The keys without which :func:`getter` finds nothing beyond the flat key ``field``
    (its prefixes, and ``labels`` for a field outside the schema): an event holding none
    of them has the field only as ``event[field]``."""
    keys = _prefixes(field)
    return (*keys, "labels") if in_labels(field) and "labels" not in keys else keys


def _getter(field: str) -> Callable[[Mapping[str, Any]], Any]:
    if "." not in field:
        return lambda event: event.get(field)
    prefixes = _prefixes(field)

    def get(event: Mapping[str, Any]) -> Any:
        value = event.get(field)
        if value is not None:
            return value
        for prefix in prefixes:
            if prefix in event:
                return _lookup(event, field)
        return None

    return get
