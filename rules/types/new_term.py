"""``new_term``: a value of ``fields`` not seen before in the key (ElastAlert2).

ElastAlert2 seeds known terms with a query over ``terms_window_size``. On the stream there
is nothing to query, so each key first *learns* for ``warmup`` (default 15 minutes) after
its first event: terms seen then are recorded, not alerted. Afterwards a term is new when
it was not seen within the last ``terms_window_size`` (default 30 days; older terms are
forgotten). Entries of ``fields`` may be lists (a composite term, values joined by ", ").
Without ``fields`` the query_key fields are used. At most ``max_terms`` terms are kept
per field (the least recently seen are dropped first). The match carries ``new_field``
and ``new_value``; with ``alert_on_missing_field`` an event lacking a field matches with
``missing_field``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bitacora.fields import lookup
from bitacora.rules.fields import each, norm
from bitacora.rules.types.base import Match, RuleKind, State

if TYPE_CHECKING:
    from bitacora.rules.model import Rule


class NewTermRule(RuleKind):
    """Remembers the terms seen per key and field, with their last time."""

    @classmethod
    def check_options(cls, rule: Rule) -> None:
        """The terms' fields: ``fields`` or the query_key."""
        if not rule.fields and rule.query_key is None:
            raise ValueError("new_term needs option 'fields' (or a query_key)")

    def __init__(self, rule: Rule, lateness: float) -> None:
        super().__init__(rule, lateness)
        specs = rule.fields or [list(rule.key_fields)]
        self.fields = [(spec,) if isinstance(spec, str) else tuple(spec) for spec in specs]

    def _terms(self, event: Mapping[str, Any], spec: tuple[str, ...]) -> list[str] | None:
        if len(spec) == 1:
            values = each(lookup(event, spec[0]))
            return [norm(value) for value in values] or None
        parts = [lookup(event, field) for field in spec]
        if any(part is None for part in parts):
            return None
        return [", ".join(norm(part) for part in parts)]

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Record the event's terms; match those that are new after the warmup."""
        learning = ts < st.setdefault("since", ts) + self.rule.warmup
        known: dict[str, dict[str, float]] = st.setdefault("terms", {})
        out: list[Match] = []
        for spec in self.fields:
            label = ",".join(spec)
            terms = self._terms(event, spec)
            if terms is None:
                if self.rule.alert_on_missing_field and not learning:
                    out.append(
                        self.match(st, key, event, 1, ts, ts, extra={"missing_field": label})
                    )
                continue
            seen = known.setdefault(label, {})
            for term in terms:
                last = seen.get(term)
                if last is None or ts - last > self.rule.terms_window_size:
                    if not learning:
                        out.append(
                            self.match(
                                st,
                                key,
                                event,
                                1,
                                ts,
                                ts,
                                extra={"new_field": label, "new_value": term},
                            )
                        )
                    seen[term] = ts
                elif ts > last:
                    seen[term] = ts
            if len(seen) > self.rule.max_terms:
                for term, _ in sorted(seen.items(), key=lambda item: item[1])[
                    : len(seen) - self.rule.max_terms
                ]:
                    del seen[term]
        return out

    def idle(self, st: State, watermark: float) -> bool:
        """A key whose every term is older than ``terms_window_size`` can go."""
        return bool(watermark - st.get("newest", watermark) > self.rule.terms_window_size)
