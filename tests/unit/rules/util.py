"""Helpers for rule tests: events at offsets from a fixed instant, rules from keywords."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bitacora.rules.engine import CompiledRule, compile_rule, evaluate, key_of, tick
from bitacora.rules.model import Rule
from bitacora.rules.types import Match, State

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def stamp(offset: float) -> str:
    """RFC 3339 with nine fraction digits, as the normalizer writes ``@timestamp``."""
    moment = datetime.fromtimestamp(T0 + offset, tz=UTC)
    nanos = round((T0 + offset) % 1 * 1e9)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nanos:09d}Z"


def ev(offset: float, **fields: Any) -> dict[str, Any]:
    """An error event of user-service at ``T0 + offset`` with extra dotted fields."""
    event: dict[str, Any] = {
        "@timestamp": stamp(offset),
        "service.name": "user-service",
        "log.level": "error",
        "message": "boom",
    }
    event.update({name.replace("__", "."): value for name, value in fields.items()})
    return event


def make(lateness: float = 0.0, **options: Any) -> CompiledRule:
    """A compiled rule named ``r`` from keyword options."""
    options.setdefault("name", "r")
    return compile_rule(Rule.model_validate(options), lateness)


class Runner:
    """Feeds events to one rule with per-key state, like the detect agent does."""

    def __init__(self, crule: CompiledRule) -> None:
        self.crule = crule
        self.states: dict[str, State] = {}

    def feed(self, event: dict[str, Any], now: float | None = None) -> list[Match]:
        """Evaluate one event (wall clock defaults to its own time)."""
        key = key_of(self.crule, event)
        state = self.states.setdefault(key, {})
        clock = now if now is not None else T0 + 10**6
        return evaluate(self.crule, event, state, clock)

    def tick(self, offset: float) -> list[Match]:
        """Tick every key at wall clock ``T0 + offset``."""
        out: list[Match] = []
        for state in self.states.values():
            out.extend(tick(self.crule, state, T0 + offset))
        return out
