"""Many rules against one event at once: one mask lookup per field the rules name.

Most alerting filters say little more than "these fields hold one of these values, those
are present". Each such condition is a field lookup; the decider does it once per field
for all rules: a field maps a value to the bit mask of the rules that value satisfies
(rules without a condition on the field always have their bit set), and the rules left
are the AND of the event's masks. A rule whose filter is exactly its conditions
(``rules.matchers.Compiled.conditions``) then matches without running its matcher; any
other rule is tested by its one-condition requirements (what every event it matches
satisfies) and, when they hold, by its matcher::

    taken = decided(crule, matcher, conditions, requires)  # None: the decider cannot help
    decider = Decider([taken, ...])
    decider.matching(event)   # the rules whose filter the event satisfies, in order

Values compare as the filters compare them (``rules.fields.norm``): a text value as it
is, other values by their canonical text, a list when any item does; a missing field
satisfies no condition on it. Compiled with mypyc (``bitacora.compiled``): the field loop
runs as native code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from bitacora.fields import fallback_keys, getter
from bitacora.rules.fields import norm
from bitacora.rules.matchers import Condition, Matcher, Requirement

# A field the rules name: (name, the keys whose presence sends the reading to ``getter``,
# the getter, the mask of a missing value, of a present one, value → mask).
_Field = tuple[str, tuple[str, ...], Callable[[Mapping[str, Any]], Any], int, int, dict[str, int]]
# Distinct outcomes kept as rule lists; a rule set meets few (the masks of its events).
_OUTCOMES_KEPT = 4096
R = TypeVar("R")


class Decided(NamedTuple, Generic[R]):
    """A rule as the decider sees it: its conditions, and whether they are its whole
    filter (else its matcher still runs when they hold)."""

    rule: R  # handed back when it matches (a rules.engine.CompiledRule)
    matcher: Matcher
    conditions: tuple[Condition, ...]
    whole: bool


def decided(
    rule: R,
    matcher: Matcher,
    conditions: tuple[Condition, ...] | None,
    requires: Sequence[Requirement],
) -> Decided[R] | None:
    """How the decider takes a rule, or None when it cannot narrow it down.

    ``conditions`` (the filter exactly, if it is a conjunction) is used when it names each
    field once (two conditions on one field could be met by two items of a list, which
    one mask cannot tell); else the rule's one-condition requirements, one per field.
    """
    if conditions is not None and len({name for name, _ in conditions}) == len(conditions):
        return Decided(rule, matcher, conditions, True)
    single: dict[str, Condition] = {}
    for requirement in requires:
        if len(requirement) == 1:
            single.setdefault(requirement[0][0], requirement[0])
    if not single:
        return None
    return Decided(rule, matcher, tuple(single.values()), False)


class Decider(Generic[R]):
    """The rules an event matches, from one mask per field the rules name."""

    def __init__(self, rules: Sequence[Decided[R]]) -> None:
        self.rules = list(rules)
        self.everyone = (1 << len(self.rules)) - 1
        conditions: dict[str, list[tuple[int, frozenset[str] | None]]] = {}
        for position, rule in enumerate(self.rules):
            for name, values in rule.conditions:
                conditions.setdefault(name, []).append((1 << position, values))
        fields: list[tuple[int, _Field]] = []
        for name, found in conditions.items():
            absent = self.everyone & ~sum(bit for bit, _ in found)  # no condition on it
            present = absent | sum(bit for bit, values in found if values is None)
            table: dict[str, int] = {}
            for bit, values in found:
                for value in values or ():
                    table[value] = table.get(value, present) | bit
            # The field that rules out the most rules first: most events stop early.
            field = (name, fallback_keys(name), getter(name), absent, present, table)
            fields.append((present.bit_count(), field))
        fields.sort(key=lambda field: (field[0], field[1][0]))
        self._fields = [field for _, field in fields]
        # mask → (its rules if all are sure to match, else None; its rules to test)
        self._outcomes: dict[int, tuple[list[R] | None, list[Decided[R]]]] = {}

    def matching(self, event: Mapping[str, Any]) -> list[R]:
        """The rules whose filter ``event`` satisfies, in the order they were given (a
        list the caller must not change: it may be the one returned for the last event)."""
        flat = event if isinstance(event, dict) else dict(event)
        mask = self.everyone
        for name, elsewhere, get, absent, present, table in self._fields:
            value = flat.get(name)
            if value is None:
                for key in elsewhere:  # nested or under labels: the field's own reader
                    if key in flat:
                        value = get(flat)
                        break
            if value is None:
                mask &= absent
            elif isinstance(value, str):
                mask &= table.get(value, present)
            elif type(value) is int:
                mask &= table.get(str(value), present)
            elif isinstance(value, list):
                union = present  # an empty list is present and holds no value
                for item in value:
                    union |= table.get(norm(item), present)
                mask &= union
            else:
                mask &= table.get(norm(value), present)
            if not mask:
                return []
        outcome = self._outcomes.get(mask)
        if outcome is None:
            outcome = self._outcome(mask)
        sure, chosen = outcome
        if sure is not None:
            return sure
        return [rule.rule for rule in chosen if rule.whole or rule.matcher(event)]

    def _outcome(self, mask: int) -> tuple[list[R] | None, list[Decided[R]]]:
        """The rules of ``mask``, as a list when all of them match for sure."""
        if len(self._outcomes) > _OUTCOMES_KEPT:
            self._outcomes = {}
        chosen = [rule for i, rule in enumerate(self.rules) if mask >> i & 1]
        sure = [r.rule for r in chosen] if all(r.whole for r in chosen) else None
        self._outcomes[mask] = outcome = (sure, chosen)
        return outcome
