"""Load rule files: YAML → ``Rule``, with errors that name the file, the line and the key.

PyYAML's composed node tree keeps a start mark per node; we record the line of every key
path, then validate with pydantic and translate each error location back to a line.

Secrets stay out of rule files: string values may name environment variables
(``${SLACK_URL}``; ``$${`` writes a literal ``${``), substituted from the mapping the
caller passes (a rule naming a variable that is not set is refused with its name), and a
destinations file (``BITACORA_DESTINATIONS_FILE``, like ElastAlert2's config-level
alerter options) gives every rule default options such as webhook URLs and routing keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bitacora.errors import RuleError
from bitacora.rules.model import Rule, destination_fields
from bitacora.settings import Settings

SHIPPED_DIR = Path(__file__).parent / "shipped"

Loc = tuple[str | int, ...]
_ENV_REF = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class LoadedRule:
    """A validated rule and where it came from."""

    rule: Rule
    path: Path


def _lines(node: yaml.Node, path: Loc, into: dict[Loc, int]) -> None:
    into.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            into[(*path, key)] = key_node.start_mark.line + 1
            _lines(value_node, (*path, key), into)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), into)


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    # Walk up until a located prefix: pydantic may add union tags such as "str" to the path.
    probe = tuple(loc)
    while probe and probe not in lines:
        probe = probe[:-1]
    return lines.get(probe, 1)


def _key_of(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "(rule)"


def substitute_env(
    data: Any, env: Mapping[str, str], source: str, lines: dict[Loc, int], loc: Loc = ()
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
                    missing.append(
                        (
                            _line_of(at, lines),
                            f"key {_key_of(at)!r}: environment variable {name!r} is not set",
                        )
                    )
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

    result = walk(data, loc)
    if missing:
        raise RuleError("; ".join(f"{source}:{line}: {message}" for line, message in missing))
    return result


def _read_mapping(text: str, source: str, what: str) -> tuple[dict[str, Any], dict[Loc, int]]:
    """The YAML mapping in ``text`` and the line of every key path."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise RuleError(f"{source}:{line}: invalid YAML: {exc.problem}") from exc
    if not isinstance(data, dict) or node is None:
        raise RuleError(f"{source}:1: {what}")
    lines: dict[Loc, int] = {}
    _lines(node, (), lines)
    return data, lines


def _validate(data: dict[str, Any], source: str, lines: dict[Loc, int]) -> Rule:
    try:
        return Rule.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            if error["type"] == "extra_forbidden":
                message = f"unknown key {_key_of(loc)!r}"
            else:
                message = f"key {_key_of(loc)!r}: {error['msg']}"
            problems.append((_line_of(loc, lines), message))
        problems.sort()
        text_out = "; ".join(f"{source}:{line}: {message}" for line, message in problems)
        raise RuleError(text_out) from None


def parse_rule_text(
    text: str,
    source: str = "<text>",
    *,
    env: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Rule:
    """Validate one rule's YAML text; ``RuleError`` names ``source:line`` and the key.

    ``${NAME}`` references are replaced from ``env`` (none set when None); ``defaults``
    (a destinations file) fill options the rule does not set.
    """
    data, lines = _read_mapping(text, source, "a rule file holds one mapping (name, type, …)")
    data = substitute_env(data, env or {}, source, lines)
    rule = _validate({**(defaults or {}), **data}, source, lines)
    _check_filters(rule, source, lines)
    return rule


def load_destinations(path: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The default rule options of a destinations file, variables substituted.

    Only destination options (those the destinations of ``rules.notify.destinations``
    declare, e.g. ``slack_webhook_url``) may be set; a rule's own value wins. Errors name
    the file, the line and the key.
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror}") from exc
    data, lines = _read_mapping(text, source, "a destinations file holds one mapping of options")
    options = destination_fields()
    for key in data:
        if key not in options:
            raise RuleError(
                f"{source}:{lines.get((key,), 1)}: key {key!r}: not a destination option "
                "(a destinations file sets options shared by every rule, e.g. slack_webhook_url)"
            )
    substituted: dict[str, Any] = substitute_env(data, env or {}, source, lines)
    # Check the values' types with a stand-in rule, so errors point into this file.
    _validate({"name": "(destinations)", "type": "any", **substituted}, source, lines)
    return substituted


def _check_filters(rule: Rule, source: str, lines: dict[Loc, int]) -> None:
    # Compile now so a bad query string fails at load time, not on the first event.
    from bitacora.rules.filters import compile_clause

    for index, clause in enumerate(rule.filter):
        try:
            compile_clause(clause)
        except RuleError as exc:
            line = _line_of(("filter", index), lines)
            raise RuleError(f"{source}:{line}: key 'filter.{index}': {exc}") from None


def load_rule_file(
    path: Path,
    *,
    env: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Rule:
    """Load and validate one YAML rule file (see :func:`parse_rule_text`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_rule_text(text, str(path), env=env, defaults=defaults)


def rule_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The ``*.yaml``/``*.yml`` files under ``paths`` (files given directly are kept), sorted.

    Hidden files and folders are skipped: a Kubernetes ConfigMap mount keeps each version
    under ``..<timestamp>/`` beside the visible links, which would load every rule twice.
    """
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.suffix in (".yaml", ".yml")
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            yield path


def load_rules(
    paths: Iterable[Path] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    destinations_file: Path | None = None,
) -> list[LoadedRule]:
    """Load every rule under ``paths`` (default: the shipped rules).

    All files are checked before raising, so one run reports every broken file; two rules
    with the same name are an error because alerts and state are keyed by rule name.
    ``env`` resolves ``${NAME}`` references; ``destinations_file`` gives default options.
    """
    loaded: list[LoadedRule] = []
    errors: list[str] = []
    seen: dict[str, Path] = {}
    defaults = load_destinations(destinations_file, env) if destinations_file else None
    for path in rule_files(list(paths) if paths is not None else [SHIPPED_DIR]):
        try:
            rule = load_rule_file(path, env=env, defaults=defaults)
        except RuleError as exc:
            errors.append(str(exc))
            continue
        if rule.name in seen:
            errors.append(
                f"{path}:1: key 'name': rule name {rule.name!r} also used by {seen[rule.name]}"
            )
            continue
        seen[rule.name] = path
        loaded.append(LoadedRule(rule, path))
    if errors:
        raise RuleError("\n".join(errors))
    return loaded


def load_configured_rules(settings: Settings, env: Mapping[str, str]) -> list[LoadedRule]:
    """The rules of ``settings`` (rules_dir, destinations_file), ``${NAME}`` from ``env``."""
    return load_rules(
        rules_dir_paths(settings.rules_dir),
        env=env,
        destinations_file=settings.destinations_file,
    )


def rules_dir_paths(rules_dir: Path | None) -> list[Path]:
    """Where rules come from: ``Settings.rules_dir`` or else the shipped rules."""
    return [rules_dir] if rules_dir is not None else [SHIPPED_DIR]
