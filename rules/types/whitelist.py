"""``whitelist``: match when ``compare_key`` holds a value not in the list (ElastAlert2).

With ``ignore_null: true`` an event without the field never matches; otherwise a missing
field matches (it is not whitelisted), as ElastAlert2 documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bitacora.fields import lookup
from bitacora.rules.fields import each, norm
from bitacora.rules.types.base import Match, RuleKind, State
from bitacora.rules.types.blacklist import value_set

if TYPE_CHECKING:
    from bitacora.rules.model import Rule


class WhitelistRule(RuleKind):
    """Stateless: an unlisted value matches."""

    required = ("compare_key", "whitelist", "ignore_null")

    @classmethod
    def check_options(cls, rule: Rule) -> None:
        """``compare_key`` must be one field."""
        if not isinstance(rule.compare_key, str):
            raise ValueError("whitelist needs compare_key to be one field name")

    def __init__(self, rule: Rule, lateness: float) -> None:
        super().__init__(rule, lateness)
        self.field = str(rule.compare_key)
        self.values = value_set(rule.whitelist or [])

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Match unless every value of the field is whitelisted."""
        values = each(lookup(event, self.field))
        if not values:
            return [] if self.rule.ignore_null else [self.match(st, key, event, 1, ts, ts)]
        if all(norm(value) in self.values for value in values):
            return []
        return [self.match(st, key, event, 1, ts, ts)]

    def idle(self, st: State, watermark: float) -> bool:
        """Nothing to keep."""
        return True
