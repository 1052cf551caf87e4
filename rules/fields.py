"""Comparing field values as the filters and rule types need (one text form per value).

Fields are read with ``bitacora.fields.lookup`` / ``getter`` (flat dotted keys first,
nested mappings as fallback).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from bitacora.fields import lookup

# Fields OpenSearch analyses as text: query_string terms on them match words, not the value.
TEXT_FIELDS = frozenset({"message", "error.message", "error.stack_trace"})


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


def search_filter(clauses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rule's filter as OpenSearch query clauses, to narrow what is fetched.

    Wrappers are unwrapped and doc types dropped. Whole-value clauses on analysed text
    fields are left out: OpenSearch compares them with tokens, the engine with the value,
    so pushing them down could hide events the engine would match (it filters again).
    """
    out = []
    for clause in clauses:
        while "query" in clause and len(clause) == 1 and isinstance(clause["query"], dict):
            clause = clause["query"]
        kind, body = next(iter(clause.items()))
        if kind == "type":
            continue
        whole_value = kind in ("term", "terms", "wildcard", "prefix") and isinstance(body, dict)
        if whole_value and any(name in TEXT_FIELDS for name in body):
            continue
        out.append(clause)
    return out
