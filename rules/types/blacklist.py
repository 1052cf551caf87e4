"""``blacklist``: match when ``compare_key`` holds one of the listed values (ElastAlert2)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bitacora.errors import RuleError
from bitacora.fields import lookup
from bitacora.rules.fields import each, norm
from bitacora.rules.types.base import Match, RuleKind, State

if TYPE_CHECKING:
    from bitacora.rules.model import Rule


def value_set(values: list[Any]) -> frozenset[str]:
    """Listed values in canonical text form, so ``500`` in YAML matches the integer 500.

    As in ElastAlert2, an entry ``"!file /path"`` stands for the lines of that file.
    """
    out: set[str] = set()
    for value in values:
        if isinstance(value, str) and value.startswith("!file "):
            path = Path(value[len("!file ") :].strip())
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise RuleError(f"cannot read list file {path}: {exc.strerror}") from exc
            out.update(line.strip() for line in lines if line.strip())
        else:
            out.add(norm(value))
    return frozenset(out)


class BlacklistRule(RuleKind):
    """Stateless: a listed value matches, whatever the time."""

    required = ("compare_key", "blacklist")

    @classmethod
    def check_options(cls, rule: Rule) -> None:
        """``compare_key`` must be one field."""
        if not isinstance(rule.compare_key, str):
            raise ValueError("blacklist needs compare_key to be one field name")

    def __init__(self, rule: Rule, lateness: float) -> None:
        super().__init__(rule, lateness)
        self.field = str(rule.compare_key)
        self.values = value_set(rule.blacklist or [])

    def on_event(
        self, st: State, event: Mapping[str, Any], ts: float, key: str, weight: int = 1
    ) -> list[Match]:
        """Match when any value of the field is blacklisted."""
        if any(norm(value) in self.values for value in each(lookup(event, self.field))):
            return [self.match(st, key, event, 1, ts, ts)]
        return []

    def idle(self, st: State, watermark: float) -> bool:
        """Nothing to keep."""
        return True
