"""Load rule files: YAML → ``Rule``, with errors that name the file, the line and the key.

PyYAML's composed node tree keeps a start mark per node; we record the line of every key
path, then validate with pydantic and translate each error location back to a line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from bitacora.errors import RuleError
from bitacora.rules.model import Rule

SHIPPED_DIR = Path(__file__).parent / "shipped"

Loc = tuple[str | int, ...]


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


def parse_rule_text(text: str, source: str = "<text>") -> Rule:
    """Validate one rule's YAML text; ``RuleError`` names ``source:line`` and the key."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise RuleError(f"{source}:{line}: invalid YAML: {exc.problem}") from exc
    if not isinstance(data, dict) or node is None:
        raise RuleError(f"{source}:1: a rule file holds one mapping (name, type, filter, …)")
    lines: dict[Loc, int] = {}
    _lines(node, (), lines)
    try:
        rule = Rule.model_validate(data)
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
    _check_filters(rule, source, lines)
    return rule


def _check_filters(rule: Rule, source: str, lines: dict[Loc, int]) -> None:
    # Compile now so a bad query string fails at load time, not on the first event.
    from bitacora.rules.filters import compile_clause

    for index, clause in enumerate(rule.filter):
        try:
            compile_clause(clause)
        except RuleError as exc:
            line = _line_of(("filter", index), lines)
            raise RuleError(f"{source}:{line}: key 'filter.{index}': {exc}") from None


def load_rule_file(path: Path) -> Rule:
    """Load and validate one YAML rule file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_rule_text(text, str(path))


def rule_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The ``*.yaml``/``*.yml`` files under ``paths`` (files given directly are kept), sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        else:
            yield path


def load_rules(paths: Iterable[Path] | None = None) -> list[LoadedRule]:
    """Load every rule under ``paths`` (default: the shipped rules).

    All files are checked before raising, so one run reports every broken file; two rules
    with the same name are an error because alerts and state are keyed by rule name.
    """
    loaded: list[LoadedRule] = []
    errors: list[str] = []
    seen: dict[str, Path] = {}
    for path in rule_files(list(paths) if paths is not None else [SHIPPED_DIR]):
        try:
            rule = load_rule_file(path)
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


def rules_dir_paths(rules_dir: Path | None) -> list[Path]:
    """Where rules come from: ``Settings.rules_dir`` or else the shipped rules."""
    return [rules_dir] if rules_dir is not None else [SHIPPED_DIR]
