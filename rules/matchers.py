"""Compiled matchers: a filter's matcher, what it implies, and how matchers combine.

A :class:`Compiled` holds the matcher of a filter (or a part of one) with what compiling
learnt about it: its *requirements* (see ``rules.filters``) and its *conditions* when it
is no more than field conditions ANDed (``rules.decide`` decides such rules by masks).
The combinators (:func:`all_of`, :func:`any_of`, :func:`none_of`, :func:`bool_of`) build
a compound clause from its parts and carry those facts through.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Matcher = Callable[[Mapping[str, Any]], bool]
# (field, allowed canonical values) or (field, None): the field must merely be present.
Condition = tuple[str, frozenset[str] | None]
# At least one of the conditions holds for every matching event.
Requirement = tuple[Condition, ...]


def _always(event: Mapping[str, Any]) -> bool:
    return True


def everything() -> Compiled:
    """The matcher of an empty filter (and of match_all): every event, no condition."""
    return Compiled(_always, conditions=())


@dataclass
class Compiled:
    """A matcher and the (field, allowed values) pairs it implies."""

    match: Matcher
    requires: list[Requirement] = field(default_factory=list)
    # The matcher holds exactly when every one of these conditions does (whole values and
    # presence, ANDed; None: the filter says more than that). The rule set decides such
    # rules together (rules.decide).
    conditions: tuple[Condition, ...] | None = None


def all_of(parts: list[Compiled]) -> Compiled:
    """Every part holds (a filter's clauses, ``AND``, ``bool.must``)."""
    requires = [req for part in parts for req in part.requires]
    # Value requirements first: the rule set indexes a rule by its first requirement.
    requires.sort(key=_weakness)
    matchers = tuple(part.match for part in parts)
    conditions: tuple[Condition, ...] | None = ()
    for part in parts:
        if conditions is not None:
            conditions = None if part.conditions is None else conditions + part.conditions
    if not matchers:
        return everything()
    if len(matchers) == 1:
        return Compiled(matchers[0], requires, conditions)
    if len(matchers) == 2:
        first, second = matchers
        return Compiled(lambda event: first(event) and second(event), requires, conditions)

    def every(event: Mapping[str, Any]) -> bool:
        for matcher in matchers:  # noqa: SIM110 - a plain loop beats all(<genexpr>) per event
            if not matcher(event):
                return False
        return True

    return Compiled(every, requires, conditions)


def any_of(parts: list[Compiled]) -> Compiled:
    """At least one part holds (``OR``, ``bool.should``)."""
    matchers = tuple(part.match for part in parts)
    # Alternatives on one field (a OR b) still require that field to hold one of them.
    requires: list[Requirement] = []
    if parts and all(p.requires for p in parts):
        # One of the alternatives' own requirements holds: merge them per field.
        merged: dict[str, frozenset[str] | None] = {}
        for part in parts:
            for name, values in part.requires[0]:
                if name in merged:
                    known = merged[name]
                    merged[name] = None if known is None or values is None else known | values
                else:
                    merged[name] = values
        requires = [tuple(sorted(merged.items(), key=lambda item: item[0]))]

    def some(event: Mapping[str, Any]) -> bool:
        for matcher in matchers:  # noqa: SIM110 - a plain loop beats any(<genexpr>) per event
            if matcher(event):
                return True
        return False

    return Compiled(some, requires, _one_field_condition(parts))


def _one_field_condition(parts: list[Compiled]) -> tuple[Condition, ...] | None:
    """Alternatives that each hold exactly on one condition, all on one field, hold exactly
    on their union: ``level:error OR level:fatal`` is ``level`` in {error, fatal}; with a
    presence test among them, presence."""
    single = [p.conditions[0] for p in parts if p.conditions is not None and len(p.conditions) == 1]
    if not parts or len(single) != len(parts) or len({name for name, _ in single}) != 1:
        return None
    allowed: frozenset[str] | None = frozenset()
    for _name, values in single:
        allowed = None if allowed is None or values is None else allowed | values
    return ((single[0][0], allowed),)


def _weakness(requirement: Requirement) -> tuple[int, int]:
    """Sort key: value conditions before mere presence, fewer alternatives first."""
    return (sum(values is None for _, values in requirement), len(requirement))


def none_of(parts: list[Compiled]) -> Compiled:
    """No part holds (``NOT``, ``bool.must_not``)."""
    matchers = tuple(part.match for part in parts)
    return Compiled(lambda event: not any(m(event) for m in matchers))


def bool_of(
    must: list[Compiled], should: list[Compiled], must_not: list[Compiled], min_should: int
) -> Compiled:
    """A ``bool`` clause: all of ``must``, none of ``must_not``, ``min_should`` of ``should``."""
    parts = list(must)
    if must_not:
        parts.append(none_of(must_not))
    if should and min_should > 0:
        if min_should == 1:
            parts.append(any_of(should))
        else:
            matchers = tuple(p.match for p in should)
            parts.append(Compiled(lambda event: sum(1 for m in matchers if m(event)) >= min_should))
    return all_of(parts)
