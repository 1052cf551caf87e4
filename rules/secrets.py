"""Secrets stay out of rule files: ``${NAME}`` references and the destinations file.

String values of a rule may name environment variables (``${SLACK_URL}``; ``$${`` writes a
literal ``${``), substituted from the mapping the caller passes; a rule naming a variable
that is not set is refused with its name, file, line and key. A destinations file
(``BITACORA_DESTINATIONS_FILE``, like ElastAlert2's config-level alerter options) gives
every rule default destination options such as webhook URLs and routing keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from bitacora.errors import RuleError

Loc = tuple[str | int, ...]
_ENV_REF = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _key_of(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "(rule)"


def substitute_env(
    data: Any, env: Mapping[str, str], source: str, line_of: Callable[[Loc], int]
) -> Any:
    """``data`` with ``${NAME}`` in every string replaced from ``env``.

    Raises ``RuleError`` naming ``source:line``, the key and every variable not set.
    """
    missing: list[tuple[int, str]] = []

    def walk(value: Any, at: Loc) -> Any:
        if isinstance(value, str):
            names = [m.group(2) for m in _ENV_REF.finditer(value) if not m.group(1)]
            for name in names:
                if name not in env:
                    problem = f"key {_key_of(at)!r}: environment variable {name!r} is not set"
                    missing.append((line_of(at), problem))
            if not names and "$${" not in value:
                return value
            return _ENV_REF.sub(
                lambda m: "${" + m.group(2) + "}" if m.group(1) else env.get(m.group(2), ""),
                value,
            )
        if isinstance(value, dict):
            return {k: walk(v, (*at, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*at, i)) for i, v in enumerate(value)]
        return value

    result = walk(data, ())
    if missing:
        raise RuleError("; ".join(f"{source}:{line}: {message}" for line, message in missing))
    return result


def load_destinations(path: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The default options of a destinations file, variables substituted.

    Only destination options (those the destinations of ``rules.notify.destinations``
    declare, e.g. ``slack_webhook_url``) may be set; a rule's own value wins. Errors name
    the file, the line and the key.
    """
    from bitacora.rules.loader import _line_of, _lines, read_rule_text
    from bitacora.rules.model import destination_fields

    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise RuleError(f"{source}:{line}: invalid YAML: {exc.problem}") from exc
    if not isinstance(data, dict) or node is None:
        raise RuleError(f"{source}:1: a destinations file holds one mapping of options")
    lines: dict[Loc, int] = {}
    _lines(node, (), lines)
    options = destination_fields()
    for key in data:
        if key not in options:
            raise RuleError(
                f"{source}:{lines.get((key,), 1)}: key {key!r}: not a destination option "
                "(a destinations file sets options shared by every rule, e.g. slack_webhook_url)"
            )
    substituted: dict[str, Any] = substitute_env(
        data, env or {}, source, lambda loc: _line_of(loc, lines)
    )
    # Check the values' types with a stand-in rule, so errors point into this file.
    stand_in = yaml.safe_dump({"name": "(destinations)", "type": "any", **substituted})
    try:
        read_rule_text(stand_in, source)
    except RuleError as exc:
        raise RuleError(_relined(str(exc), source, stand_in, lines)) from None
    return substituted


def _relined(message: str, source: str, stand_in: str, lines: dict[Loc, int]) -> str:
    """Point ``source:N:`` of the stand-in's errors at the key's line in the real file."""

    def fix(match: re.Match[str]) -> str:
        key = match.group(2)
        return f"{source}:{lines.get((key.split('.')[0],), 1)}: key '{key}'"

    return re.sub(rf"{re.escape(source)}:(\d+): key '([^']+)'", fix, message)
